// Per-session fan-out of monitor events to the monitor WebSockets.
//
// Every event gets its `seq` and `t` here and is serialized once into a bounded ring (the
// backlog). Each monitor socket has a cursor into the ring; a flush, scheduled once per tick
// (setImmediate), sends each monitor the events after its cursor, one JSON event per WebSocket
// message, while the socket's bufferedAmount stays under the high-water mark. A monitor that is
// absent or too slow loses the oldest events: it then receives one `dropped` event whose `seq`
// is the seq of the last event it lost, so seq stays strictly increasing on every monitor.
// seq 1 is the `hello` each monitor gets first; session events start at 2.
import type { WebSocket } from 'ws';
import type { HelloEvent, MonitorEvent } from './protocol.ts';

type WithoutBase<T> = T extends unknown ? Omit<T, 'seq' | 't'> : never;
/** An event as producers hand it to the monitor (seq and t are added here). */
export type EventInput = WithoutBase<Exclude<MonitorEvent, HelloEvent>>;
export type HelloInput = Omit<HelloEvent, 'seq' | 't' | 'type'>;

interface Subscriber {
  ws: WebSocket;
  /** Next seq to send. */
  cursor: number;
}

export interface SessionMonitorOptions {
  backlog: number;
  highWater: number;
  /** Called once per overflow episode (the session turns it into a `limit` event). */
  onOverflow?: () => void;
}

const OPEN = 1;
const RETRY_MS = 20;

export class SessionMonitor {
  private readonly ring: string[];
  private readonly capacity: number;
  private readonly highWater: number;
  private readonly onOverflow?: () => void;
  /** Seq the next event gets. */
  private nextSeq = 2;
  /** Events currently in the ring (the newest `count` seqs before nextSeq). */
  private count = 0;
  private readonly subscribers = new Set<Subscriber>();
  private flushScheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private overflowing = false;
  private ended = false;

  constructor(options: SessionMonitorOptions) {
    this.capacity = Math.max(1, options.backlog);
    this.ring = new Array(this.capacity);
    this.highWater = options.highWater;
    this.onOverflow = options.onOverflow;
  }

  get monitorCount(): number {
    return this.subscribers.size;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Adds an event to the session stream; returns its seq (0 once the session has ended). */
  emit(event: EventInput, t = Date.now()): number {
    if (this.ended) return 0;
    const seq = this.nextSeq++;
    const oldest = seq - this.count;
    if (this.count === this.capacity) {
      // The oldest event leaves the ring: a drop if some monitor (or the absent one) still needed it.
      let lost = this.subscribers.size === 0;
      for (const sub of this.subscribers) if (sub.cursor <= oldest) lost = true;
      if (lost && !this.overflowing) {
        this.overflowing = true;
        queueMicrotask(() => this.onOverflow?.());
      }
    } else {
      this.count++;
    }
    this.ring[seq % this.capacity] = JSON.stringify({ seq, t, ...event });
    this.scheduleFlush();
    return seq;
  }

  /** Registers a monitor socket: sends its hello at once, then the backlog. */
  subscribe(ws: WebSocket, hello: HelloInput): void {
    const sub: Subscriber = { ws, cursor: 2 };
    this.subscribers.add(sub);
    ws.send(JSON.stringify({ seq: 1, t: Date.now(), type: 'hello', ...hello }));
    const remove = () => this.subscribers.delete(sub);
    ws.on('close', remove);
    ws.on('error', remove);
    this.scheduleFlush();
  }

  /** Emits `end`, delivers what is left to every monitor (ignoring the high-water mark), closes them. */
  end(reason: 'shutdown' | 'expired', closeCode = 1001): void {
    if (this.ended) return;
    this.emit({ type: 'end', reason });
    this.ended = true;
    this.flush(true);
    for (const sub of this.subscribers) {
      if (sub.ws.readyState === OPEN) sub.ws.close(closeCode, reason === 'shutdown' ? 'Arrêt du serveur' : 'Session expirée');
    }
    this.subscribers.clear();
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush(false);
    });
  }

  private flush(force: boolean): void {
    const end = this.nextSeq;
    const oldest = end - this.count;
    let blocked = false;
    for (const sub of this.subscribers) {
      const { ws } = sub;
      if (ws.readyState !== OPEN || sub.cursor >= end) continue;
      const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
      socket?.cork();
      try {
        if (sub.cursor < oldest) {
          ws.send(JSON.stringify({ seq: oldest - 1, t: Date.now(), type: 'dropped', count: oldest - sub.cursor }));
          sub.cursor = oldest;
        }
        while (sub.cursor < end && (force || ws.bufferedAmount < this.highWater)) {
          ws.send(this.ring[sub.cursor % this.capacity]);
          sub.cursor++;
        }
      } finally {
        socket?.uncork();
      }
      if (sub.cursor < end) blocked = true;
    }
    if (!blocked && this.subscribers.size > 0) this.overflowing = false;
    else if (!this.retryTimer && !this.ended) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.flush(false);
      }, RETRY_MS);
    }
  }
}
