// Configurable limits of the sandbox (per session, per IP, per socket, per process) and the small
// counters that enforce them. Per-session defaults suit one learner; the per-process ones (TCP
// connections, backlog and memory budgets) one 2-core machine serving a few thousand sessions
// (README: threat model). Env variables override them.

export interface Limits {
  /** A session without traffic (learner bytes, monitor opened or closed) expires after this long (ms). */
  sessionIdleMs: number;
  /** Live TCP connections attributed to one session (learner sockets, polling requests). */
  maxConnectionsPerSession: number;
  /** New connections per second per session (token bucket refill), and the burst. */
  connectionsPerSecond: number;
  connectionBurst: number;
  /** Monitor sockets open on one session at once. */
  maxMonitorsPerSession: number;
  /**
   * Refill rate (per second) of the session's token bucket: every frame a learner's WebSocket
   * client sends takes a token (messages, fragments, ping, pong, close: guard.ts), as does every
   * Socket.IO packet over polling.
   */
  messagesPerSecond: number;
  /** Token bucket size: how many such frames or packets a burst may contain. */
  messageBurst: number;
  /** Largest WebSocket message (bytes) a learner may send: ws `maxPayload`, closes 1009. */
  maxPayload: number;
  /** ws `maxFragments`: most fragments in one message (closes 1008). */
  maxFragments: number;
  /** ws `maxBufferedChunks`: most data chunks ws buffers for one message (closes 1008). */
  maxBufferedChunks: number;
  /** ws `maxPendingAutoPongs`: pings answered but not yet flushed before ws terminates the socket. */
  maxPendingAutoPongs: number;
  /** Events kept for a slow or absent monitor; older ones are dropped (and counted). */
  monitorBacklog: number;
  /** Characters of serialized events one session keeps for its monitors (same dropping). */
  monitorBacklogBytes: number;
  /** Largest serialized event; the captured text and payload of a larger one are cut. */
  maxEventBytes: number;
  /** Characters every session backlog of the process may hold together; past it the largest are shed. */
  backlogBudget: number;
  /** Live memory (JS heap in use + external buffers, bytes) above which new sessions get 503 and backlogs are shed. */
  memoryBudget: number;
  /** Longest time a client may take to send one WebSocket frame, once begun (ms; closes 1008). */
  frameTimeoutMs: number;
  /** Longest time a fragmented message may stay unfinished (ms; closes 1008). */
  messageTimeoutMs: number;
  /** Engine.IO sessions (Socket.IO clients) one sandbox session may hold at once. */
  maxEngineIoClients: number;
  /**
   * Longest wait for a request head, and for the first byte of a new connection (ms); a whole
   * request (head and body) gets three times as long. Production server only.
   */
  headersTimeoutMs: number;
  /** TCP connections the production server accepts at once (under the open-file limit). */
  maxTcpConnections: number;
  /**
   * New TCP connections per second from one IP address (token bucket refill), and the burst;
   * past it a connection is closed as soon as accepted, before any of it is read.
   */
  ipConnectionsPerSecond: number;
  ipConnectionBurst: number;
  /** Bytes a learner socket may hold unread (sent, not yet taken by the client) before it is closed. */
  maxSendBuffer: number;
  /**
   * Events every connected monitor already received that are still kept for a monitor connecting
   * later (the rest of the backlog is freed once delivered).
   */
  monitorReplay: number;
  /** A monitor socket with more than this many bytes queued is not written to until it drains. */
  monitorHighWater: number;
  /** Live sessions created by one IP address. */
  maxSessionsPerIp: number;
  /** Live TCP connections one IP address may have attributed to sessions. */
  maxConnectionsPerIp: number;
  /** Longest wait of a long-polling request (ms). */
  longPollMs: number;
  /** Bounds and default of the match feed interval (ms). */
  matchIntervalMin: number;
  matchIntervalMax: number;
  matchIntervalDefault: number;
  /** How long a connection cut silently by a session's network conditions stays open (ms; network.ts). */
  silentHoldMs: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  sessionIdleMs: 30 * 60_000,
  maxConnectionsPerSession: 20,
  connectionsPerSecond: 10,
  connectionBurst: 30,
  maxMonitorsPerSession: 4,
  messagesPerSecond: 50,
  messageBurst: 100,
  maxPayload: 64 * 1024,
  maxFragments: 1024,
  maxBufferedChunks: 4096,
  maxPendingAutoPongs: 16,
  monitorBacklog: 5000,
  monitorBacklogBytes: 2 * 1024 * 1024,
  maxEventBytes: 16 * 1024,
  backlogBudget: 192 * 1024 * 1024,
  memoryBudget: 512 * 1024 * 1024,
  frameTimeoutMs: 10_000,
  messageTimeoutMs: 30_000,
  maxEngineIoClients: 10,
  headersTimeoutMs: 10_000,
  maxTcpConnections: 18_000,
  ipConnectionsPerSecond: 100,
  ipConnectionBurst: 300,
  maxSendBuffer: 1024 * 1024,
  monitorReplay: 0,
  monitorHighWater: 1024 * 1024,
  maxSessionsPerIp: 20,
  maxConnectionsPerIp: 100,
  longPollMs: 25_000,
  matchIntervalMin: 50,
  matchIntervalMax: 60_000,
  matchIntervalDefault: 3000,
  silentHoldMs: 60_000,
});

/** Env variable for each limit, e.g. SANDBOX_MAX_PAYLOAD=131072. */
const ENV_NAMES: Record<keyof Limits, string> = {
  sessionIdleMs: 'SANDBOX_SESSION_IDLE_MS',
  maxConnectionsPerSession: 'SANDBOX_MAX_CONNECTIONS_PER_SESSION',
  connectionsPerSecond: 'SANDBOX_CONNECTIONS_PER_SECOND',
  connectionBurst: 'SANDBOX_CONNECTION_BURST',
  maxMonitorsPerSession: 'SANDBOX_MAX_MONITORS_PER_SESSION',
  messagesPerSecond: 'SANDBOX_MESSAGES_PER_SECOND',
  messageBurst: 'SANDBOX_MESSAGE_BURST',
  maxPayload: 'SANDBOX_MAX_PAYLOAD',
  maxFragments: 'SANDBOX_MAX_FRAGMENTS',
  maxBufferedChunks: 'SANDBOX_MAX_BUFFERED_CHUNKS',
  maxPendingAutoPongs: 'SANDBOX_MAX_PENDING_AUTO_PONGS',
  monitorBacklog: 'SANDBOX_MONITOR_BACKLOG',
  monitorBacklogBytes: 'SANDBOX_MONITOR_BACKLOG_BYTES',
  maxEventBytes: 'SANDBOX_MAX_EVENT_BYTES',
  backlogBudget: 'SANDBOX_BACKLOG_BUDGET',
  memoryBudget: 'SANDBOX_MEMORY_BUDGET',
  frameTimeoutMs: 'SANDBOX_FRAME_TIMEOUT_MS',
  messageTimeoutMs: 'SANDBOX_MESSAGE_TIMEOUT_MS',
  maxEngineIoClients: 'SANDBOX_MAX_ENGINE_IO_CLIENTS',
  headersTimeoutMs: 'SANDBOX_HEADERS_TIMEOUT_MS',
  maxTcpConnections: 'SANDBOX_MAX_TCP_CONNECTIONS',
  ipConnectionsPerSecond: 'SANDBOX_IP_CONNECTIONS_PER_SECOND',
  ipConnectionBurst: 'SANDBOX_IP_CONNECTION_BURST',
  maxSendBuffer: 'SANDBOX_MAX_SEND_BUFFER',
  monitorReplay: 'SANDBOX_MONITOR_REPLAY',
  monitorHighWater: 'SANDBOX_MONITOR_HIGH_WATER',
  maxSessionsPerIp: 'SANDBOX_MAX_SESSIONS_PER_IP',
  maxConnectionsPerIp: 'SANDBOX_MAX_CONNECTIONS_PER_IP',
  longPollMs: 'SANDBOX_LONG_POLL_MS',
  matchIntervalMin: 'SANDBOX_MATCH_INTERVAL_MIN',
  matchIntervalMax: 'SANDBOX_MATCH_INTERVAL_MAX',
  matchIntervalDefault: 'SANDBOX_MATCH_INTERVAL_DEFAULT',
  silentHoldMs: 'SANDBOX_SILENT_HOLD_MS',
};

/** Limits from env variables (positive integers only; others are ignored with a warning). */
export function limitsFromEnv(env: Record<string, string | undefined> = process.env): Partial<Limits> {
  const out: Partial<Limits> = {};
  for (const key of Object.keys(ENV_NAMES) as (keyof Limits)[]) {
    const raw = env[ENV_NAMES[key]];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (Number.isInteger(value) && value > 0) out[key] = value;
    else console.warn(`${ENV_NAMES[key]} ignoré\u00a0: «\u00a0${raw}\u00a0» n’est pas un entier positif`);
  }
  return out;
}

/** The environment that gives `limits` to a process (the inverse of limitsFromEnv: clusters, benchmarks). */
export function limitsToEnv(limits: Partial<Limits>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(limits) as [keyof Limits, number][]) env[ENV_NAMES[key]] = String(value);
  return env;
}

export function resolveLimits(overrides?: Partial<Limits>): Limits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  limits.matchIntervalDefault = clamp(limits.matchIntervalDefault, limits.matchIntervalMin, limits.matchIntervalMax);
  return limits;
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** ws server options that protect the server, from the limits. */
export function wsProtections(limits: Limits) {
  return {
    maxPayload: limits.maxPayload,
    maxFragments: limits.maxFragments,
    maxBufferedChunks: limits.maxBufferedChunks,
    maxPendingAutoPongs: limits.maxPendingAutoPongs,
  };
}

/** Classic token bucket: `rate` tokens per second, at most `burst` stored. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly rate: number;
  private readonly burst: number;

  constructor(rate: number, burst: number, now = Date.now()) {
    this.rate = rate;
    this.burst = Math.max(1, burst);
    this.tokens = this.burst;
    this.last = now;
  }

  /** True when the bucket has refilled to its burst (nothing is taken). */
  full(now = Date.now()): boolean {
    return this.tokens + (Math.max(0, now - this.last) / 1000) * this.rate >= this.burst;
  }

  /** True when a take() now would fail (nothing is taken). */
  empty(now = Date.now()): boolean {
    return this.tokens + (Math.max(0, now - this.last) / 1000) * this.rate < 1;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now = Date.now()): boolean {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.rate);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Counts live things per key (e.g. sessions per IP); forgets keys at zero. */
export class KeyedCounter {
  private readonly counts = new Map<string, number>();

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  increment(key: string): void {
    this.counts.set(key, this.get(key) + 1);
  }

  decrement(key: string): void {
    const n = this.get(key) - 1;
    if (n > 0) this.counts.set(key, n);
    else this.counts.delete(key);
  }
}

/** The client IP of a socket, with IPv4-mapped IPv6 addresses shown as IPv4. */
export function ipOf(remoteAddress: string | undefined): string {
  if (!remoteAddress) return 'unknown';
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
}

/**
 * A token bucket per key (client IP), for rates of rare events. Keys whose bucket has refilled
 * are forgotten every `forgetMs` (the map holds only the keys active lately).
 */
export class KeyedRate {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly timer: NodeJS.Timeout;
  private readonly rate: number;
  private readonly burst: number;

  constructor(rate: number, burst: number, forgetMs = 10_000) {
    this.rate = rate;
    this.burst = burst;
    // Only refilled buckets are forgotten: clearing the others would give a flooding key a fresh burst.
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const [key, bucket] of this.buckets) if (bucket.full(now)) this.buckets.delete(key);
    }, forgetMs);
    this.timer.unref();
  }

  take(key: string, now = Date.now()): boolean {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.rate, this.burst, now);
      this.buckets.set(key, bucket);
    }
    return bucket.take(now);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
