// Session registry. A session is a capability: whoever knows its id (144 random bits, session-ids.ts) may use
// its endpoints and watch its monitor. Sessions expire after a configurable idle time without
// traffic (opening or closing a monitor counts as activity; an open, silent monitor does not keep
// a session alive forever); on expiry, or at shutdown, the monitors get an `end` event and every
// socket of the session is closed.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { KeyedCounter, TokenBucket } from './limits.ts';
import type { Limits } from './limits.ts';
import { createMemoryGauge } from './memory.ts';
import type { MemoryGauge } from './memory.ts';
import { BacklogBudget, END_CLOSE_CODE, endCloseReason, SessionMonitor } from './monitor.ts';
import type { EventInput } from './monitor.ts';
import type { LimitEvent } from '#protocol';
import type { NetworkLink } from './network.ts';
import { logError, sessionTag } from './log.ts';
import { recordLimit, STATS } from './stats.ts';
import { createSessionIds } from './session-ids.ts';
import type { SessionIds } from './session-ids.ts';

export type EndReason = 'shutdown' | 'expired';

export class Session {
  readonly id: string;
  /** IP that created the session (counted against its per-IP session limit). */
  readonly ip: string;
  readonly createdAt = Date.now();
  lastActivity = Date.now();
  readonly monitor: SessionMonitor;
  readonly bucket: TokenBucket;
  /** New connections (each one costs a handshake and its decoding, whatever it sends after). */
  readonly connBucket: TokenBucket;
  /** TCP sockets currently attributed to the session by the router (for limits and closing). */
  readonly sockets = new Set<Duplex>();
  /** Learner WebSockets (closed with 1001 when the session ends). */
  readonly websockets = new Set<WebSocket>();
  /** Created on first use (most sessions never need them). */
  private cleanups: Array<(reason: EndReason) => void> | null = null;
  private state: Map<string, unknown> | null = null;
  private connCounter = 0;
  /** The session's network conditions applied to its connections (network.ts); null: none (nothing runs). */
  network: NetworkLink | null = null;
  ended = false;

  constructor(id: string, ip: string, limits: Limits, budget?: BacklogBudget) {
    this.id = id;
    this.ip = ip;
    this.bucket = new TokenBucket(limits.messagesPerSecond, limits.messageBurst);
    this.connBucket = new TokenBucket(limits.connectionsPerSecond, limits.connectionBurst);
    this.monitor = new SessionMonitor({
      backlog: limits.monitorBacklog,
      backlogChars: limits.monitorBacklogBytes,
      maxEventChars: limits.maxEventBytes,
      budget,
      highWater: limits.monitorHighWater,
      replay: limits.monitorReplay,
      onOverflow: () =>
        this.limit({
          limit: 'backlog',
          action: 'drop oldest',
          message: `Le moniteur ne suit pas\u00a0: les évènements les plus anciens au-delà de ${limits.monitorBacklog} évènements ou ${Math.round(limits.monitorBacklogBytes / 1024)}\u00a0Kio sont abandonnés.`,
        }),
    });
  }

  /** Next connection id of this session ("c1", "c2"…). */
  nextConnId(): string {
    return `c${++this.connCounter}`;
  }

  touch(): void {
    this.lastActivity = Date.now();
  }

  emit(event: EventInput, t = Date.now()): void {
    this.lastActivity = t;
    this.monitor.emit(event, t);
  }

  info(message: string, conn?: string): void {
    this.emit(conn ? { type: 'info', conn, message } : { type: 'info', message });
  }

  limit(fields: Omit<LimitEvent, 'seq' | 't' | 'type'>): void {
    recordLimit(fields.limit, { action: fields.action, session: sessionTag(this.id) });
    this.emit({ type: 'limit', ...fields });
  }

  /** The server is draining: the monitors are told when the session will end (not activity). */
  drainNotice(graceMs: number): void {
    this.monitor.emit({ type: 'draining', graceMs });
  }

  /**
   * A limit event that is not this session's own traffic (e.g. another tab of the same IP was
   * refused a session): it must not count as activity, or a refused request every few seconds
   * would keep an abandoned session from ever being reclaimed.
   */
  notice(fields: Omit<LimitEvent, 'seq' | 't' | 'type'>): void {
    this.monitor.emit({ type: 'limit', ...fields });
  }

  /** Per-session scenario state, created on first use. */
  getState<T>(key: string, create: () => T): T {
    const state = (this.state ??= new Map());
    let value = state.get(key) as T | undefined;
    if (value === undefined) {
      value = create();
      state.set(key, value);
    }
    return value;
  }

  /** Runs `fn` when the session ends (timers, Socket.IO server…). */
  onEnd(fn: (reason: EndReason) => void): void {
    (this.cleanups ??= []).push(fn);
  }

  /** Ends the session: `end` event, learner WebSockets closed with 1001, other sockets destroyed. */
  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    this.monitor.end(reason);
    this.network?.end();
    for (const fn of this.cleanups ?? []) {
      try {
        fn(reason);
      } catch (err) {
        logError('session-end', err);
      }
    }
    const text = endCloseReason(reason);
    for (const ws of this.websockets) ws.close(END_CLOSE_CODE, text);
    // Sockets not owned by a WebSocket (polling, SSE, idle keep-alive) are destroyed; WebSocket
    // sockets get their closing handshake first, and ws destroys them after its close timeout.
    const wsSockets = new Set<unknown>();
    for (const ws of this.websockets) wsSockets.add((ws as unknown as { _socket?: unknown })._socket);
    for (const socket of this.sockets) if (!wsSockets.has(socket)) socket.destroy();
  }
}

const ADMITTED = Symbol('admitted');
type Admitted = Duplex & { [ADMITTED]?: { session: Session; ip: string; counter: KeyedCounter } | null };

function onAdmittedClose(this: Admitted): void {
  const admitted = this[ADMITTED];
  if (!admitted) return;
  this[ADMITTED] = null;
  admitted.session.sockets.delete(this);
  admitted.session.network?.detach(this);
  admitted.counter.decrement(admitted.ip);
}

export interface RegistryOptions {
  limits: Limits;
  /** How often idle sessions are looked for (ms); default: a quarter of the idle time, at most 1 min. */
  sweepMs?: number;
  /** Mints and verifies session ids (default: a random secret for this process). */
  ids?: SessionIds;
}

/** A session unused for this long may be ended to make room for a new one from the same IP. */
export const ABANDONED_MS = 5_000;

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly perIp = new KeyedCounter();
  private readonly ipConnections = new KeyedCounter();
  readonly limits: Limits;
  readonly ids: SessionIds;
  /** Every session backlog of the process together. */
  readonly budget: BacklogBudget;
  private readonly sweeper: NodeJS.Timeout;
  private readonly watchdog: NodeJS.Timeout;
  /** Live memory of the process, confirmed after a full collection (see memory.ts). */
  private readonly memory: MemoryGauge;

  constructor(options: RegistryOptions) {
    this.limits = options.limits;
    this.ids = options.ids ?? createSessionIds();
    this.budget = new BacklogBudget(this.limits.backlogBudget);
    this.memory = createMemoryGauge();
    const sweepMs = options.sweepMs ?? Math.max(10, Math.min(60_000, Math.floor(this.limits.sessionIdleMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), sweepMs);
    this.sweeper.unref();
    // Once a second: over the memory budget, the backlogs give back half of what they hold (the
    // rest of the process's memory is bounded by the other limits, not reclaimable here).
    this.watchdog = setInterval(() => {
      if (this.overMemory()) this.budget.shed(Math.floor(this.budget.used / 2));
    }, 1000);
    this.watchdog.unref();
  }

  /** The process is over its memory budget (live memory) or its backlogs near theirs. */
  overMemory(): boolean {
    return this.budget.nearFull || this.memory.over(this.limits.memoryBudget);
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Creates a session for `ip` (its id carries `routeKey` when the load balancer chose one); 'ip'
   * when that IP has too many sessions in use, 'memory' when the process is near its memory budget.
   * At the limit, the IP's oldest abandoned session (no monitor, no connection, quiet for
   * ABANDONED_MS: a lesson page the learner left) makes room, so browsing many lessons works.
   */
  create(ip: string, routeKey?: string): Session | 'ip' | 'memory' {
    if (this.perIp.get(ip) >= this.limits.maxSessionsPerIp) {
      const abandoned = this.oldestAbandoned(ip);
      if (!abandoned) return 'ip';
      this.end(abandoned, 'expired');
    }
    if (this.overMemory()) return 'memory';
    const session = new Session(this.ids.mint(routeKey), ip, this.limits, this.budget);
    this.sessions.set(session.id, session);
    this.perIp.increment(ip);
    STATS.sessionsCreated++;
    return session;
  }

  /** The live session named `id`; an id this cluster's secrets did not sign is refused before the table is read. */
  get(id: string): Session | undefined {
    if (!this.ids.verify(id)) return undefined;
    const session = this.sessions.get(id);
    return session && !session.ended ? session : undefined;
  }

  /**
   * Counts `socket` as one of the session's connections (once). Returns which limit refuses it,
   * or null when admitted.
   */
  admitSocket(session: Session, socket: Duplex, ip: string): 'connections' | 'ip-connections' | 'connection-rate' | null {
    if (session.sockets.has(socket)) return null;
    const admitted = socket as Admitted;
    const previous = admitted[ADMITTED];
    // A keep-alive connection that moves to another session leaves the first one (once counted
    // in two sessions, it was uncounted from one only, and got a close listener per move).
    const moving = previous ? 1 : 0;
    if (session.sockets.size >= this.limits.maxConnectionsPerSession) return 'connections';
    if (this.ipConnections.get(ip) - moving >= this.limits.maxConnectionsPerIp) return 'ip-connections';
    if (!session.connBucket.take()) return 'connection-rate';
    if (previous) {
      previous.session.sockets.delete(socket);
      previous.session.network?.detach(socket, true);
      previous.counter.decrement(previous.ip);
    }
    session.sockets.add(socket);
    session.network?.attach(socket);
    this.ipConnections.increment(ip);
    // One shared listener; what it needs is kept on the socket (no closure per connection).
    admitted[ADMITTED] = { session, ip, counter: this.ipConnections };
    if (previous === undefined) socket.on('close', onAdmittedClose);
    return null;
  }

  private oldestAbandoned(ip: string, now = Date.now()): Session | undefined {
    let oldest: Session | undefined;
    for (const s of this.sessions.values()) {
      const quiet = now - s.lastActivity >= ABANDONED_MS;
      if (s.ip === ip && quiet && s.monitor.monitorCount === 0 && s.sockets.size === 0) {
        if (!oldest || s.lastActivity < oldest.lastActivity) oldest = s;
      }
    }
    return oldest;
  }

  /** Live sessions created by `ip`. */
  sessionsOf(ip: string): Session[] {
    return [...this.sessions.values()].filter((s) => s.ip === ip);
  }

  /** Every learner WebSocket of every live session, without building arrays (the guard's sweep, every second). */
  *webSockets(): Generator<WebSocket> {
    for (const session of this.sessions.values()) yield* session.websockets;
  }

  /** Every live session (metrics, drain). */
  values(): MapIterator<Session> {
    return this.sessions.values();
  }

  /** Every learner WebSocket of every live session. */
  allWebSockets(): WebSocket[] {
    return [...this.sessions.values()].flatMap((s) => [...s.websockets]);
  }

  /** Ends a session and forgets it. */
  end(session: Session, reason: EndReason): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    this.perIp.decrement(session.ip);
    if (reason === 'expired') STATS.sessionsExpired++;
    else STATS.sessionsShutdown++;
    session.end(reason);
  }

  sweep(now = Date.now()): void {
    for (const session of [...this.sessions.values()]) {
      if (now - session.lastActivity >= this.limits.sessionIdleMs) {
        this.end(session, 'expired');
      }
    }
  }

  /** Ends every session (shutdown). */
  endAll(reason: EndReason): void {
    for (const session of [...this.sessions.values()]) this.end(session, reason);
    clearInterval(this.sweeper);
    clearInterval(this.watchdog);
  }
}
