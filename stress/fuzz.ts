// `npm run fuzz`: mutated client frame streams (stress/mutate.ts) sent over real TCP (127.0.0.1)
// to a real sandbox server (stress/fuzz-server.ts, a child process), on the `echo` and
// `echo-deflate` scenarios, permessage-deflate negotiated or not. For each case, the close code ws
// really sent (read from the raw socket: the server's close frame) is compared with what the
// session's monitor said about that connection: its `limit` event ("close NNNN"), else its first
// violation, else the client's own close frame (which ws echoes). Also: the server must not crash,
// and its RSS must come back near its baseline at the end.
//
// Options (environment or --name=value): FUZZ_CASES (100000), FUZZ_SEED (random), FUZZ_SESSIONS (8),
// FUZZ_PER_SESSION (24 connections at once per session), FUZZ_QUIET_MS (60: how long a
// connection with no close frame is watched once the server has read its bytes), FUZZ_MAX_SECONDS (900: time
// bound; the run fails if it stops short), FUZZ_LIMITS (JSON: extra server limits).
//
// Server limits raised for the fuzz, and why: the fuzz opens many connections at once from one IP
// (maxConnectionsPerSession, maxConnectionsPerIp, maxSessionsPerIp), sends far more messages than a
// learner (messagesPerSecond, messageBurst: a rate-limit close would hide the frame checks the fuzz
// is about; connectionsPerSecond, connectionBurst likewise), and must see every event of every
// connection (monitorBacklog, monitorBacklogBytes, backlogBudget: a dropped event would look like
// a mismatch). maxPayload, maxFragments and the other ws protections keep their defaults:
// their `limit` events are part of what is compared.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { DEFAULT_LIMITS } from '../sandbox-server/limits.ts';
import { makeCase, MUTATIONS, pieces } from './mutate.ts';
import { wsVerdict } from './ws-oracle.ts';
import type { FuzzCase } from './mutate.ts';

export interface FuzzOptions {
  cases: number;
  seed: number;
  sessions: number;
  perSession: number;
  quietMs: number;
  maxSeconds: number;
  /** Deflate cases at once, all sessions together. */
  deflateParallel: number;
  limits: Record<string, number>;
  /** Progress lines on stderr. */
  progress: boolean;
}

export interface Mismatch {
  id: number;
  deflate: string;
  mutations: string;
  ws: number | null;
  monitor: number | null;
  detail: string;
  hex: string;
}

export interface FuzzResult {
  seed: number;
  cases: number;
  /** Cases per first mutation and per deflate mode: [cases, ws closed, mismatched]. */
  byMutation: Record<string, [number, number, number]>;
  byDeflate: Record<string, [number, number, number]>;
  /** Close codes ws sent, and how often. */
  byCode: Record<string, number>;
  wsClosed: number;
  /** ws ended the connection without a close frame (e.g. terminate). */
  terminated: number;
  matched: number;
  mismatched: number;
  mismatches: Mismatch[];
  /** Harness failures (handshake refused, monitor event missing): not counted as matched. */
  errors: number;
  errorExamples: string[];
  crashed: boolean;
  crashDetail: string;
  /** Close latencies after the barrier (ms): p99 and max; quiet window used. */
  latency: { plain: [number, number]; deflate: [number, number] };
  quietMs: number;
  /** Deflate cases where the close code ws sent over TCP differs from ws's parser run in-process (timing, chunking). */
  oracleDisagreements: number;
  rssBaseline: number;
  rssPeak: number;
  rssFinal: number;
  /** JS heap in use after a GC, at the start and at the end. */
  heapBaseline: number;
  heapFinal: number;
  durationMs: number;
  completed: boolean;
}

export const FUZZ_LIMITS: Record<string, number> = {
  maxConnectionsPerSession: 1000,
  maxConnectionsPerIp: 10_000,
  maxSessionsPerIp: 200,
  messagesPerSecond: 1_000_000,
  messageBurst: 1_000_000,
  monitorBacklog: 1_000_000,
  // Same reasons: the fuzz opens connections far faster than a learner, and its backlog in bytes
  // must not drop events either.
  connectionsPerSecond: 1_000_000,
  connectionBurst: 1_000_000,
  ipConnectionsPerSecond: 1_000_000,
  ipConnectionBurst: 1_000_000,
  monitorBacklogBytes: 512 * 1024 * 1024,
  backlogBudget: 1024 * 1024 * 1024,
};

/** How long a connection the monitor already saw fail may take to get its close frame (ws may be inflating). */
const EXPECT_CLOSE_MS = Number(process.env.FUZZ_EXPECT_CLOSE_MS ?? 10_000);
const UPGRADE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tick = () => new Promise((r) => setImmediate(r));

/** What the monitor said about one connection. */
interface ConnVerdict {
  conn: string;
  /** The client's local port, as the server saw it. */
  port: number;
  limit: number | null;
  violation: number | null;
  violationMessage: string;
  clientClose: number | null;
  serverViolation: string | null;
  closed: boolean;
}

/** The server child process and its IPC. */
class ServerProcess {
  readonly child: ChildProcess;
  port = 0;
  exited = false;
  exitDetail = '';
  private stderr = '';
  private rssWaiters: Array<(rss: number) => void> = [];
  /** JS heap in use at the last measure. */
  heapUsed = 0;

  constructor(limits: Record<string, number>) {
    const path = fileURLToPath(new URL('./fuzz-server.ts', import.meta.url));
    this.child = fork(path, [], {
      execArgv: ['--expose-gc'],
      env: { ...process.env, FUZZ_LIMITS: JSON.stringify(limits) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.child.on('message', (m: { type: string; rss?: number; heapUsed?: number }) => {
      if (m.type !== 'rss') return;
      this.heapUsed = m.heapUsed ?? 0;
      this.rssWaiters.shift()?.(m.rss as number);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      const lines = this.stderr.trim().split('\n');
      const error = lines.find((l) => /\b\w*Error\b/.test(l)) ?? '';
      const stack = lines
        .filter((l) => /^\s+at /.test(l))
        .slice(0, 3)
        .map((l) => l.trim());
      this.exitDetail = `exit ${code ?? signal}: ${[error.trim(), ...stack].filter(Boolean).join(' | ')}`;
      for (const w of this.rssWaiters.splice(0)) w(0);
    });
  }

  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('fuzz server did not start in 20 s')), 20_000);
      this.child.on('message', (m: { type: string; port?: number }) => {
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        this.port = m.port as number;
        resolve();
      });
      this.child.once('exit', () => reject(new Error(`fuzz server exited: ${this.exitDetail}`)));
    });
  }

  rss(gc = false): Promise<number> {
    if (this.exited) return Promise.resolve(0);
    return new Promise((resolve) => {
      this.rssWaiters.push(resolve);
      this.child.send({ type: 'rss', gc });
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.send({ type: 'stop' });
    await Promise.race([new Promise((r) => this.child.once('exit', r)), sleep(4000)]);
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** One sandbox session, its monitor, and the verdicts per connection (found by the client's port). */
class FuzzSession {
  readonly id: string;
  private readonly monitor: WebSocket;
  private readonly byPort = new Map<number, ConnVerdict>();
  private readonly byConn = new Map<string, ConnVerdict>();
  private readonly waiters = new Map<number, () => void>();
  dropped = 0;

  /** Cases waiting for the next pong, and those whose ping is in flight (see barrier()). */
  private barrierNext: Array<() => void> = [];
  private barrierInFlight: Array<() => void> | null = null;

  private constructor(id: string, monitor: WebSocket) {
    this.id = id;
    this.monitor = monitor;
    monitor.on('pong', () => {
      const done = this.barrierInFlight ?? [];
      this.barrierInFlight = null;
      for (const r of done) r();
      this.ping();
    });
    monitor.on('message', (data) => {
      const parsed = JSON.parse(data.toString());
      for (const e of Array.isArray(parsed) ? parsed : [parsed]) this.onEvent(e);
    });
  }

  static async open(port: number): Promise<FuzzSession> {
    const res = await fetch(`http://127.0.0.1:${port}/api/sessions`, { method: 'POST', signal: AbortSignal.timeout(5000) });
    if (res.status !== 201) throw new Error(`POST /api/sessions → ${res.status}`);
    const { id } = (await res.json()) as { id: string };
    const monitor = new WebSocket(`ws://127.0.0.1:${port}/api/sessions/${id}/monitor?batch=1`);
    const session = new FuzzSession(id, monitor);
    await new Promise((resolve, reject) => {
      monitor.once('open', resolve);
      monitor.once('error', reject);
    });
    return session;
  }

  private onEvent(e: Record<string, any>): void {
    if (e.type === 'dropped') {
      this.dropped += e.count;
      return;
    }
    if (e.type === 'conn-open') {
      const port = Number(String(e.remote).split(':').pop());
      const v: ConnVerdict = {
        conn: e.conn,
        port,
        limit: null,
        violation: null,
        violationMessage: '',
        clientClose: null,
        serverViolation: null,
        closed: false,
      };
      this.byConn.set(e.conn, v);
      this.byPort.set(port, v);
      return;
    }
    const v = e.conn !== undefined ? this.byConn.get(e.conn) : undefined;
    if (!v) return;
    if (e.type === 'limit') {
      const m = /^close (\d+)$/.exec(e.action);
      if (m && v.limit === null) v.limit = Number(m[1]);
    } else if (e.type === 'violation') {
      if (e.from === 'server') v.serverViolation ??= `${e.code} ${e.message}`;
      else if (v.violation === null) {
        v.violation = e.code;
        v.violationMessage = e.message;
      }
    } else if (e.type === 'frame' && e.from === 'client' && e.opcode === 0x8 && !e.violating && v.clientClose === null) {
      v.clientClose = e.code ?? 1005;
    } else if (e.type === 'conn-close') {
      v.closed = true;
      this.byConn.delete(e.conn);
      this.waiters.get(v.port)?.();
    }
  }

  /**
   * Resolves once the server answered pings on this session's monitor sent after the call: by
   * then its event loop has read what the caller wrote before (loopback delivers at once and the
   * server reads every ready socket in a loop turn), whatever its load. One ping at a time per
   * session, shared by all the cases waiting.
   */
  async barrier(): Promise<void> {
    // Two rounds: the loop turn that read the first ping may not have reached our socket yet
    // (same turn, later in the list); the turn that reads the second ping comes after it.
    await this.pingRound();
    await this.pingRound();
  }

  private pingRound(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000); // a dead monitor must not hang the run
      this.barrierNext.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.ping();
    });
  }

  private ping(): void {
    if (this.barrierInFlight !== null || this.barrierNext.length === 0) return;
    this.barrierInFlight = this.barrierNext;
    this.barrierNext = [];
    this.monitor.ping();
  }

  /** The monitor's view of the connection from `port` so far (null before its conn-open). */
  peek(port: number): ConnVerdict | null {
    return this.byPort.get(port) ?? null;
  }

  /** Waits for the connection's conn-close and returns its verdict (null after `ms`). */
  async finished(port: number, ms: number): Promise<ConnVerdict | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = this.byPort.get(port);
      if (v?.closed) {
        this.byPort.delete(port);
        return v;
      }
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await Promise.race([new Promise<void>((r) => this.waiters.set(port, r)), sleep(Math.min(left, 50))]);
      this.waiters.delete(port);
    }
  }

  close(): void {
    this.monitor.terminate();
  }
}

/** Reads the server's frames after the 101 and finds its close frame. */
class ServerStream {
  private buf: Buffer = Buffer.alloc(0);
  head: string | null = null;
  closeCode: number | null = null;
  closeFrame = false;
  closeAt: number | null = null;
  lastData = Date.now();

  push(chunk: Buffer): void {
    this.lastData = Date.now();
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (this.head === null) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.head = this.buf.subarray(0, end).toString('latin1');
      this.buf = this.buf.subarray(end + 4);
    }
    while (!this.closeFrame && this.buf.length >= 2) {
      const len7 = this.buf[1] & 0x7f;
      let at = 2;
      let len = len7;
      if (len7 === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len7 === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buf[1] & 0x80) at += 4; // a server never masks; kept for safety
      if (this.buf.length < at + len) return;
      if ((this.buf[0] & 0x0f) === 0x8) {
        this.closeFrame = true;
        this.closeAt = Date.now();
        this.closeCode = len >= 2 ? this.buf.readUInt16BE(at) : 1005;
      }
      this.buf = this.buf.subarray(at + len);
    }
  }
}

/**
 * At most this many deflate cases at once: ws runs every inflation and deflation of the server
 * through one queue of 4 zlib jobs, each needing an event-loop turn, so too many deflate
 * connections make ws answer seconds late, after a case's quiet window (measured: 192 at once gave
 * closes 2–10 s late). Kept low, ws answers within milliseconds (see the latency line).
 */
class Semaphore {
  private free: number;
  private readonly queue: Array<() => void> = [];
  constructor(n: number) {
    this.free = n;
  }
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.queue.push(r));
  }
  give(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.free++;
  }
}

interface CaseOutcome {
  ws: number | null;
  /** ms from the barrier (server has read our bytes) to ws's close frame; null without one. */
  latency: number | null;
  terminated: boolean;
  monitor: number | null;
  detail: string;
  error: string | null;
}

/** What ws's own parser says about the case, in-process: only used to know how long to wait for a close. */
interface Expectation {
  code: number | null;
}

async function runCase(port: number, session: FuzzSession, c: FuzzCase, quietMs: number, expected: Expectation): Promise<CaseOutcome> {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const stream = new ServerStream();
  let ended = false;
  socket.on('data', (d: Buffer) => stream.push(d));
  socket.on('error', () => {});
  socket.on('close', () => {
    ended = true;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
      setTimeout(() => reject(new Error('connect timeout')), 5000);
    });
  } catch (err) {
    socket.destroy();
    return { ws: null, latency: null, terminated: false, monitor: null, detail: '', error: `connect: ${(err as Error).message}` };
  }
  const localPort = socket.localPort as number;
  const scenario = c.deflate === 'off' ? 'echo' : 'echo-deflate';
  const offer =
    c.deflate === 'off'
      ? ''
      : c.deflate === 'nct'
        ? 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n'
        : 'Sec-WebSocket-Extensions: permessage-deflate\r\n';
  const request =
    `GET /s/${session.id}/${scenario}?client=F HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${UPGRADE_KEY}\r\nSec-WebSocket-Version: 13\r\n${offer}\r\n`;
  const parts = pieces(c);
  let next = 0;
  if (c.early) socket.write(Buffer.concat([Buffer.from(request), parts[next++]]));
  else socket.write(request);
  // The 101 (or a refusal).
  const headBy = Date.now() + 5000;
  while (stream.head === null && !ended && Date.now() < headBy) await sleep(1);
  if (stream.head === null || !/^HTTP\/1\.1 101 /.test(stream.head)) {
    socket.destroy();
    return {
      ws: null,
      latency: null,
      terminated: false,
      monitor: null,
      detail: '',
      error: `handshake: ${(stream.head ?? 'no response').split('\r\n')[0]}`,
    };
  }
  const negotiated = /permessage-deflate/i.test(stream.head);
  if (negotiated !== (c.deflate !== 'off')) {
    socket.destroy();
    return {
      ws: null,
      latency: null,
      terminated: false,
      monitor: null,
      detail: '',
      error: `permessage-deflate ${negotiated ? 'negotiated' : 'refused'} unexpectedly`,
    };
  }
  // Separate writes, a turn of the event loop apart: they may reach ws as separate reads.
  for (; next < parts.length && !ended; next++) {
    socket.write(parts[next]);
    if (next + 1 < parts.length) await tick();
  }
  // Watch until ws closes, or for quietMs after the server has read our bytes (barrier) and sent
  // nothing more; longer when the monitor already reported a fault on this connection (ws may
  // still be inflating, or the server be busy).
  const started = Date.now();
  await session.barrier();
  const barrierAt = Date.now();
  stream.lastData = Math.max(stream.lastData, barrierAt);
  for (;;) {
    if (stream.closeFrame || ended) break;
    if (Date.now() - stream.lastData >= quietMs) {
      const seen = session.peek(localPort);
      // A close is awaited when ws's own parser (run in-process on the same bytes) or the monitor
      // says one comes: ws's inflation queue can delay it well past the quiet window.
      const expectsClose =
        expected.code !== null || (seen !== null && (seen.limit !== null || seen.violation !== null || seen.clientClose !== null));
      if (!expectsClose || Date.now() - started > EXPECT_CLOSE_MS) break;
      await session.barrier();
    }
    await sleep(5);
  }
  const terminated = ended && !stream.closeFrame;
  const latency = stream.closeFrame ? Math.max(0, (stream.closeAt ?? barrierAt) - barrierAt) : null;
  socket.destroy();
  const verdict = await session.finished(localPort, 5000);
  if (!verdict)
    return { ws: stream.closeCode, latency, terminated, monitor: null, detail: '', error: 'monitor: no conn-close for this connection' };
  const monitor = verdict.limit ?? verdict.violation ?? verdict.clientClose;
  let detail =
    verdict.limit !== null
      ? `limit close ${verdict.limit}`
      : verdict.violation !== null
        ? `violation ${verdict.violation}: ${verdict.violationMessage}`
        : verdict.clientClose !== null
          ? `client close ${verdict.clientClose}`
          : 'nothing';
  if (verdict.serverViolation) detail += `; server-side violation ${verdict.serverViolation}`;
  return { ws: stream.closeCode, latency, terminated, monitor: verdict.serverViolation ? -1 : monitor, detail, error: null };
}

function optionsFrom(env: Record<string, string | undefined>, argv: string[]): FuzzOptions {
  const arg = (name: string) => {
    const hit = argv.find((a) => a.startsWith(`--${name}=`));
    return hit ? hit.slice(name.length + 3) : env[`FUZZ_${name.toUpperCase().replace(/-/g, '_')}`];
  };
  const num = (name: string, def: number) => {
    const raw = arg(name);
    const n = raw === undefined || raw === '' ? def : Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: nombre attendu, reçu «\u00a0${raw}\u00a0»`);
    return n;
  };
  return {
    cases: num('cases', 100_000),
    seed: num('seed', Math.floor(Math.random() * 2 ** 31)),
    sessions: Math.max(1, num('sessions', 8)),
    perSession: Math.max(1, num('per-session', 24)),
    quietMs: num('quiet-ms', 60),
    maxSeconds: num('max-seconds', 900),
    deflateParallel: Math.max(1, num('deflate-parallel', 16)),
    limits: JSON.parse(arg('limits') ?? '{}'),
    progress: true,
  };
}

export async function runFuzz(opts: Partial<FuzzOptions> = {}): Promise<FuzzResult> {
  const o: FuzzOptions = { ...optionsFrom({}, []), progress: false, ...opts };
  const started = Date.now();
  const deadline = started + o.maxSeconds * 1000;
  const result: FuzzResult = {
    seed: o.seed,
    cases: 0,
    byMutation: {},
    byDeflate: {},
    byCode: {},
    wsClosed: 0,
    terminated: 0,
    matched: 0,
    mismatched: 0,
    mismatches: [],
    errors: 0,
    errorExamples: [],
    crashed: false,
    crashDetail: '',
    latency: { plain: [0, 0], deflate: [0, 0] },
    quietMs: o.quietMs,
    oracleDisagreements: 0,
    rssBaseline: 0,
    rssPeak: 0,
    rssFinal: 0,
    heapBaseline: 0,
    heapFinal: 0,
    durationMs: 0,
    completed: false,
  };
  for (const m of MUTATIONS) result.byMutation[m] = [0, 0, 0];
  for (const d of ['off', 'on', 'nct']) result.byDeflate[d] = [0, 0, 0];
  const server = new ServerProcess({ ...FUZZ_LIMITS, ...o.limits });
  await server.ready();
  const sessions: FuzzSession[] = [];
  let sampler: NodeJS.Timeout | null = null;
  try {
    for (let i = 0; i < o.sessions; i++) sessions.push(await FuzzSession.open(server.port));
    result.rssBaseline = await server.rss(true);
    result.heapBaseline = server.heapUsed;
    result.rssPeak = result.rssBaseline;
    sampler = setInterval(() => {
      server.rss().then((rss) => (result.rssPeak = Math.max(result.rssPeak, rss)));
    }, 250);
    let nextId = 0;
    const deflateSlots = new Semaphore(o.deflateParallel);
    const serverLimits = { ...DEFAULT_LIMITS, ...FUZZ_LIMITS, ...o.limits };
    const oracleLimits = { maxPayload: serverLimits.maxPayload, maxFragments: serverLimits.maxFragments };
    const latencies: number[] = [];
    const deflateLatencies: number[] = [];
    let lastReport = Date.now();
    const worker = async (session: FuzzSession) => {
      while (nextId < o.cases && Date.now() < deadline && !server.exited) {
        const c = makeCase(o.seed, nextId++);
        if (c.deflate !== 'off') await deflateSlots.take();
        let out: CaseOutcome;
        try {
          // Without deflate, ws answers in the loop turn that reads the bytes: the barrier suffices.
          const expected =
            c.deflate === 'off'
              ? { code: null }
              : await wsVerdict(pieces(c), { deflate: true, clientNoContextTakeover: c.deflate === 'nct', ...oracleLimits });
          out = await runCase(server.port, session, c, o.quietMs, expected);
          if (out.error === null && c.deflate !== 'off' && out.ws !== expected.code) result.oracleDisagreements++;
        } finally {
          if (c.deflate !== 'off') deflateSlots.give();
        }
        if (server.exited) break;
        record(result, c, out);
        if (out.latency !== null) (c.deflate === 'off' ? latencies : deflateLatencies).push(out.latency);
        if (o.progress && Date.now() - lastReport > 5000) {
          lastReport = Date.now();
          process.stderr.write(`… ${result.cases} cas, ${result.mismatched} écart(s), ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
        }
      }
    };
    const workers: Promise<void>[] = [];
    for (const s of sessions) for (let k = 0; k < o.perSession; k++) workers.push(worker(s));
    await Promise.all(workers);
    for (const [list, key] of [
      [latencies, 'plain'],
      [deflateLatencies, 'deflate'],
    ] as const) {
      list.sort((a, b) => a - b);
      result.latency[key] = [list[Math.floor(list.length * 0.99)] ?? 0, list.at(-1) ?? 0];
    }
    result.completed = result.cases >= o.cases && !server.exited;
    for (const s of sessions) {
      if (s.dropped > 0) {
        result.errors++;
        result.errorExamples.push(`session ${s.id}: ${s.dropped} événement(s) perdu(s) (dropped)`);
      }
    }
  } finally {
    if (sampler) clearInterval(sampler);
    for (const s of sessions) s.close();
    if (server.exited) {
      result.crashed = true;
      result.crashDetail = server.exitDetail;
    } else {
      await sleep(1000);
      result.rssFinal = await server.rss(true);
      result.heapFinal = server.heapUsed;
    }
    await server.stop();
    result.durationMs = Date.now() - started;
  }
  return result;
}

function record(result: FuzzResult, c: FuzzCase, out: CaseOutcome): void {
  result.cases++;
  const first = c.mutations[0];
  const m = result.byMutation[first] ?? (result.byMutation[first] = [0, 0, 0]);
  const d = result.byDeflate[c.deflate];
  m[0]++;
  d[0]++;
  if (out.error) {
    result.errors++;
    if (result.errorExamples.length < 5) result.errorExamples.push(`cas ${c.id}: ${out.error}`);
    return;
  }
  if (out.ws !== null) {
    result.wsClosed++;
    m[1]++;
    d[1]++;
    result.byCode[out.ws] = (result.byCode[out.ws] ?? 0) + 1;
  }
  if (out.terminated) result.terminated++;
  if (out.ws === out.monitor) {
    result.matched++;
    return;
  }
  result.mismatched++;
  m[2]++;
  d[2]++;
  if (result.mismatches.length < 10) {
    result.mismatches.push({
      id: c.id,
      deflate: c.deflate,
      mutations: c.mutations.join('+'),
      ws: out.ws,
      monitor: out.monitor,
      detail: out.detail,
      hex: Buffer.from(c.bytes).toString('hex').slice(0, 200),
    });
  }
}

const mb = (n: number) => `${(n / 1048576).toFixed(0)} Mo`;

/** RSS back near its baseline: at most 64 MB or half the baseline above it. */
export function rssRecovered(r: FuzzResult): boolean {
  return r.rssFinal > 0 && r.rssFinal <= r.rssBaseline + Math.max(64 << 20, r.rssBaseline / 2);
}

export function fuzzFailed(r: FuzzResult): boolean {
  return r.crashed || r.mismatched > 0 || r.errors > 0 || !r.completed || !rssRecovered(r);
}

export function summaryTable(r: FuzzResult): string {
  const lines: string[] = [];
  const row = (cells: (string | number)[], widths: number[]) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  const w = [26, 9, 11, 9];
  lines.push(`Fuzz du décodeur de trames — graine ${r.seed}, ${r.cases} cas en ${(r.durationMs / 1000).toFixed(1)} s`);
  lines.push('');
  lines.push(row(['Mutation (la première)', 'cas', 'fermés ws', 'écarts'], w));
  for (const [k, [n, closed, bad]] of Object.entries(r.byMutation)) if (n > 0) lines.push(row([k, n, closed, bad], w));
  lines.push(row(['permessage-deflate', '', '', ''], w));
  const names: Record<string, string> = { off: '  non négocié', on: '  négocié', nct: '  négocié, client_no_ctx' };
  for (const [k, [n, closed, bad]] of Object.entries(r.byDeflate)) lines.push(row([names[k] ?? k, n, closed, bad], w));
  lines.push(row(['Total', r.cases, r.wsClosed, r.mismatched], w));
  lines.push('');
  const sorted = Object.entries(r.byCode).sort((a, b) => b[1] - a[1]);
  const rare = sorted.slice(12).reduce((sum, [, n]) => sum + n, 0);
  const codes =
    sorted
      .slice(0, 12)
      .map(([c, n]) => `${c}×${n}`)
      .join(', ') + (rare ? `, ${sorted.length - 12} autres codes×${rare}` : '');
  lines.push(`Codes de fermeture envoyés par ws : ${codes || '—'}`);
  lines.push(
    `Fermés par ws : ${r.wsClosed} (dont ${r.terminated} sans trame close) · concordants : ${r.matched} · écarts : ${r.mismatched} · erreurs du banc : ${r.errors}`,
  );
  lines.push(
    `Délai de la trame close de ws après lecture de nos octets (p99 / max) : sans deflate ${r.latency.plain[0]} / ${r.latency.plain[1]} ms, ` +
      `avec ${r.latency.deflate[0]} / ${r.latency.deflate[1]} ms (fenêtre d’attente sans fermeture : ${r.quietMs} ms)`,
  );
  lines.push(`Cas où ws sur TCP diffère de son propre analyseur exécuté ici (découpage, minutage) : ${r.oracleDisagreements}`);
  lines.push(
    `RSS du serveur : base ${mb(r.rssBaseline)}, pic ${mb(r.rssPeak)}, fin ${r.crashed ? '—' : mb(r.rssFinal)} (${rssRecovered(r) ? 'revenue près de la base' : 'PAS revenue près de la base'}) · tas JS après GC : ${mb(r.heapBaseline)} → ${mb(r.heapFinal)}`,
  );
  lines.push(`Plantage du serveur : ${r.crashed ? `OUI — ${r.crashDetail}` : 'non'}`);
  if (!r.completed && !r.crashed) lines.push('Arrêt avant le nombre de cas demandé (borne de temps).');
  for (const m of r.mismatches) {
    lines.push(
      `  écart cas ${m.id} (${m.deflate}, ${m.mutations}) : ws ${m.ws ?? 'pas de fermeture'}, moniteur ${m.monitor ?? 'rien'} (${m.detail}) — ${m.hex}`,
    );
  }
  for (const e of r.errorExamples) lines.push(`  erreur : ${e}`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const opts = optionsFrom(process.env, process.argv.slice(2));
  process.stderr.write(`Fuzz : ${opts.cases} cas, graine ${opts.seed}, ${opts.sessions}×${opts.perSession} connexions en parallèle\n`);
  const result = await runFuzz(opts);
  console.log(summaryTable(result));
  process.exit(fuzzFailed(result) ? 1 : 0);
}
