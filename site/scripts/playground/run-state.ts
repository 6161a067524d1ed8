// The state of a playground's current run, without DOM: the monitor events of the run, the server
// console's lines, the bytes on the wire per direction, the Socket.IO deliveries per client, and the
// client labels. Pure (unit-tested in run-state.test.ts); the element feeds it, the parts read it.
import type { MonitorEvent, NetworkConditions } from '#protocol';
import { type Check, type ClientMap, evaluateCheck, learnClient } from './checks.ts';
import { countDelivery, type Deliveries } from './deliveries.ts';
import { wireBytes } from './terminal-view.ts';

export class RunState {
  /**
   * Client labels per connection, request, Engine.IO session and Socket.IO socket. The one owner
   * of the map: learnt from every event of the session (runs before this one included, since a
   * connection may outlive its run); the formatter and the parts only read it.
   */
  readonly clients: ClientMap = new Map();
  /** Monitor events of the current run (`hello` and events before the run's start excluded). */
  events: MonitorEvent[] = [];
  /** Lines the server console showed during the run (checks' `serverLog`). */
  serverLines: string[] = [];
  /** Bytes on the wire per direction: `client` (client → server) and `server` (server → client). */
  bytes = { client: 0, server: 0 };
  /** Socket.IO events the server delivered to each client during the run. */
  deliveries: Deliveries = new Map();
  /** How many deliveries were counted in the run (a part redraws when it changes). */
  deliveryCount = 0;
  /** Seq of the last event seen before the run started: later events belong to the run. */
  startSeq = 0;
  /** Highest seq seen on the session. */
  lastSeq = 0;
  /**
   * Connections that opened, or carried a new request, during the current run. A connection of an
   * earlier run can still produce events after this run starts (a response the previous server
   * sent just before it was stopped, a close): they belong to that run, not this one.
   */
  private runConns = new Set<string>();
  /** The network conditions the sandbox applies to the session (its `hello`), shown first in the terminal. */
  network: NetworkConditions | undefined = undefined;

  /** A new run: its events are those after the last one seen. Client labels are kept. */
  start(network?: NetworkConditions): void {
    this.network = network;
    this.startSeq = this.lastSeq;
    this.runConns.clear();
    this.events = [];
    this.serverLines = [];
    this.bytes = { client: 0, server: 0 };
    this.deliveries = new Map();
    this.deliveryCount = 0;
  }

  /** Takes in one monitor event; true when it belongs to the current run. */
  accept(e: MonitorEvent): boolean {
    this.lastSeq = Math.max(this.lastSeq, e.seq);
    learnClient(e, this.clients);
    if (e.type === 'hello' || e.seq <= this.startSeq) return false;
    // A kept-alive connection reused by this run's client joins the run with its next request.
    if (e.type === 'conn-open' || (e.type === 'http' && e.from === 'client')) this.runConns.add(e.conn);
    else if ('conn' in e && e.conn && !this.runConns.has(e.conn)) return false;
    this.events.push(e);
    const wire = wireBytes(e);
    if (wire) this.bytes[wire.from] += wire.bytes;
    if (countDelivery(this.deliveries, e, this.clients)) this.deliveryCount++;
    return true;
  }

  /** One line of the server console. */
  addServerLine(text: string): void {
    this.serverLines.push(text);
  }

  /** Does the run pass `check`? (Never before the run produced anything.) */
  passes(check: Check): boolean {
    return (this.events.length > 0 || this.serverLines.length > 0) && evaluateCheck(check, this.events, this.serverLines).passed;
  }
}
