// Runs one server program twice with the same client script, and gives what went over the wire
// each time, decoded by the same code (sandbox-server/wire/connection-decoder.ts):
// - real: the program with Node's real `require` (ws, socket.io, http) in this process, every
//   `listen()` moved to an ephemeral port of 127.0.0.1; the clients reach it through a TCP proxy
//   that feeds both directions of each connection to a ConnectionDecoder;
// - sandbox: the program as learner code (`runServerCode`, the browser Worker's runtime, run in
//   Node) on a learner-server session of a real sandbox; the wire is the monitor's events (the
//   sandbox's tap runs the same decoder).
import { once } from 'node:events';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { createServer, connect, Server as NetServer } from 'node:net';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { ConnectionDecoder } from '../../sandbox-server/wire/connection-decoder.ts';
import { Monitor } from '../../sandbox-server/test-helpers.ts';
import type { TestApp } from '../../sandbox-server/test-helpers.ts';
import { HostLink } from '../../site/scripts/playground/server-runtime/host-link.ts';
import { runServerCode } from '../../site/scripts/playground/server-runtime/run.ts';
import { Clients, sleep, within } from './client-kit.ts';
import { buildTrace } from './trace.ts';
import type { Run, Trace, WireEvent } from './trace.ts';

/** One program of the corpus. */
export interface Program {
  name: string;
  /** What it shows (one line, for the results table). */
  about: string;
  /** The server code, as a learner would write it for Node (CommonJS, `require`). */
  server: string;
  /** The client script: deterministic, waits for each answer before the next send. */
  client: (clients: Clients) => Promise<void>;
  /** Packages the real run needs besides ws and socket.io (e.g. express): without them it is a todo. */
  requires?: string[];
  /**
   * Differences between the façade and the real program known for this program. Each `apply`
   * turns the sandbox's trace into what the real program gives; the test checks that the
   * difference is still there (the façade fixed, the entry must go) and that nothing else differs.
   */
  known?: KnownDifference[];
}

export interface KnownDifference {
  /** Precise description: what the real program does, what the sandbox does, whose it is. */
  what: string;
  apply(trace: Trace): Trace;
}

/** Bounds of one run (ms): the server must listen within, the script must end within. */
const LISTEN_MS = 5000;
const SCRIPT_MS = 15_000;
/** How long the connections get to close after the script (TCP FIN after the closing handshakes). */
const SETTLE_MS = 3000;
/**
 * Then what the server code prints about those closes is let in: in the sandbox it comes through
 * the host channel, after the monitor saw the TCP close.
 */
const CONSOLE_MS = 100;

/**
 * Both runs execute `PROLOGUE + server`: the program's timers are the harness's, so that the
 * intervals a program leaves running (a heartbeat) are cleared when its run ends.
 */
const PROLOGUE = 'const { setTimeout, setInterval, clearTimeout, clearInterval } = globalThis.__differentialTimers;\n';

class TimerScope {
  private readonly handles = new Set<NodeJS.Timeout>();
  readonly api = {
    setTimeout: (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => this.track(setTimeout(fn, ms, ...args)),
    setInterval: (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => this.track(setInterval(fn, ms, ...args)),
    clearTimeout: (h: NodeJS.Timeout) => {
      clearTimeout(h);
      this.handles.delete(h);
    },
    clearInterval: (h: NodeJS.Timeout) => {
      clearInterval(h);
      this.handles.delete(h);
    },
  };

  private track(h: NodeJS.Timeout): NodeJS.Timeout {
    this.handles.add(h);
    return h;
  }

  clear(): void {
    for (const h of this.handles) clearTimeout(h);
    this.handles.clear();
  }
}

function installTimers(scope: TimerScope): void {
  (globalThis as { __differentialTimers?: unknown }).__differentialTimers = scope.api;
}

/** Console lines as both runs write them: `level: args joined by spaces` (programs log strings and numbers). */
function consoleInto(lines: string[]) {
  const say =
    (level: string) =>
    (...args: unknown[]) =>
      lines.push(`${level}: ${args.map(String).join(' ')}`);
  return { log: say('log'), info: say('info'), warn: say('warn'), error: say('error') };
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  await within(
    (async () => {
      while (!check()) await sleep(5);
    })(),
    ms,
    what,
  );
}

// ── Real run ───────────────────────────────────────────────────────────────────────────────────

const nodeRequire = createRequire(import.meta.url);

/** The packages of `program.requires` that Node cannot resolve here. */
export function missingPackages(program: Program): string[] {
  return (program.requires ?? []).filter((name) => {
    try {
      nodeRequire.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
}
// Taken before any interception: the proxy listens with it.
const originalListen = NetServer.prototype.listen;
const realListen = originalListen as unknown as (this: NetServer, port: number, host: string, cb?: () => void) => NetServer;

interface ProxyConnection {
  /** Rank of the connection's first decoded event among all connections (sorts them as the monitor does). */
  order: number;
  events: WireEvent[];
  closed: Promise<void>;
}

/** A TCP proxy on 127.0.0.1 to `target`, decoding each connection as the sandbox's tap does. */
async function startProxy(target: number) {
  const connections: ProxyConnection[] = [];
  const sockets = new Set<Socket>();
  let firsts = 0;
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ port: target, host: '127.0.0.1', allowHalfOpen: true });
    const decoder = new ConnectionDecoder();
    const conn: ProxyConnection = {
      order: Number.POSITIVE_INFINITY,
      events: [],
      closed: Promise.all([once(client, 'close'), once(upstream, 'close')]).then(() => {}),
    };
    connections.push(conn);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    const feed = (from: 'client' | 'server', chunk: Buffer) => {
      const events = decoder.push(from, chunk) as WireEvent[];
      if (events.length > 0 && conn.order === Number.POSITIVE_INFINITY) conn.order = firsts++;
      conn.events.push(...events);
    };
    client.on('data', (d: Buffer) => {
      feed('client', d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      feed('server', d);
      client.write(d);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    // A reset (or a destroy without FIN) on one side: the other one is destroyed too.
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  realListen.call(server, 0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    port,
    connections,
    close(): void {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Runs `program` as a real Node program; its trace. */
export async function runReal(program: Program): Promise<Run> {
  const servers: NetServer[] = [];
  const serverSockets = new Set<Socket>();
  const timers = new TimerScope();
  const lines: string[] = [];
  // Every listen() of the program (ws's { port }, socket.io's new Server(port), server.listen(80)…)
  // goes to an ephemeral port of 127.0.0.1; the first server listening is the one clients reach.
  NetServer.prototype.listen = function (this: NetServer, ...args: unknown[]) {
    const cb = typeof args[args.length - 1] === 'function' ? (args[args.length - 1] as () => void) : undefined;
    servers.push(this);
    this.on('connection', (s: Socket) => {
      serverSockets.add(s);
      s.on('close', () => serverSockets.delete(s));
    });
    return realListen.call(this, 0, '127.0.0.1', cb);
  } as typeof NetServer.prototype.listen;
  let proxy: Awaited<ReturnType<typeof startProxy>> | null = null;
  let clients: Clients | null = null;
  try {
    installTimers(timers);
    const module = { exports: {} as unknown };
    const fn = new Function('require', 'module', 'exports', 'console', 'Buffer', PROLOGUE + program.server) as (...a: unknown[]) => void;
    fn(nodeRequire, module, module.exports, consoleInto(lines), Buffer);
    await until(() => servers.some((s) => s.listening), LISTEN_MS, 'the real program to listen');
    const main = servers.find((s) => s.listening) as NetServer;
    proxy = await startProxy((main.address() as { port: number }).port);
    clients = new Clients({ port: proxy.port, prefix: '' });
    await within(program.client(clients), SCRIPT_MS, `the client script of ${program.name} (real)`);
    await clients.closeAll();
    const all = Promise.all(proxy.connections.map((c) => c.closed));
    await within(all, SETTLE_MS, 'the connections to close (real)').catch(() => {});
    await until(() => serverSockets.size === 0, SETTLE_MS, 'the server sockets to close (real)').catch(() => {});
    await sleep(CONSOLE_MS);
    const conns = [...proxy.connections].sort((a, b) => a.order - b.order).map((c) => c.events);
    return buildTrace(conns, lines, '');
  } finally {
    if (clients) await clients.closeAll().catch(() => {});
    timers.clear();
    proxy?.close();
    for (const s of serverSockets) s.destroy();
    for (const s of servers) s.close();
    NetServer.prototype.listen = originalListen;
  }
}

// ── Sandbox run ────────────────────────────────────────────────────────────────────────────────

/** Marks the requests that wait for the sandbox's Socket.IO server (their connections are left out). */
const PROBE = 'differential-probe=1';

interface Host {
  ws: WebSocket;
  link: HostLink;
  logs: string[];
}

async function openHost(t: TestApp, id: string, secret: string, logs: string[]): Promise<Host> {
  const ws = new WebSocket(`${t.ws}/api/sessions/${id}/host`);
  await within(once(ws, 'open'), 5000, 'host channel open');
  const link = HostLink.overText((text) => ws.send(text), consoleInto(logs));
  const ready = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      // As in the browser Worker, what the server code throws in a listener is reported, and the
      // server goes on (with the frame's next messages too).
      const messages = link.receiveText(data.toString(), (err) =>
        logs.push(`uncaught: ${err instanceof Error ? err.message : String(err)}`),
      );
      if (messages.some((m) => m.t === 'ready')) resolve();
    });
  });
  ws.send(JSON.stringify({ t: 'auth', secret }));
  await within(ready, 5000, 'host ready');
  return { ws, link, logs };
}

/** Status of an OPTIONS request to the session's Socket.IO path, on its own connection (`base`: http://host:port). */
function probe(base: string, id: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/s/${id}/socket.io/?EIO=4&transport=polling&${PROBE}`,
      { method: 'OPTIONS', agent: false, headers: { connection: 'close' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Waits until the session's Socket.IO path is served by the sandbox's real Socket.IO server: the
 * façade declares it once its http server listens, and until the sandbox has created it, the
 * façade's own server answers 503.
 */
export async function realSocketIoReady(base: string, id: string): Promise<void> {
  await within(
    (async () => {
      while ((await probe(base, id)) === 503) await sleep(10);
    })(),
    LISTEN_MS,
    'the real Socket.IO server',
  );
}

/** True while some connection the monitor saw open has not closed. */
export function openConnections(events: WireEvent[]): boolean {
  const opened = events.filter((e) => e.type === 'conn-open').map((e) => e.conn);
  const ended = new Set(events.filter((e) => e.type === 'conn-close').map((e) => e.conn));
  return opened.some((c) => !ended.has(c));
}

/**
 * The trace of a session from its monitor's events, in the order the connections opened; the
 * probes' connections left out, and with `externalOnly` the page's own clients too (labelled A, B…).
 */
export function traceFromMonitor(events: WireEvent[], id: string, consoleLines: string[], externalOnly = false): Run {
  const opens = events.filter((e) => e.type === 'conn-open' && (!externalOnly || e.client === null));
  const byConn = new Map<string, WireEvent[]>(opens.map((e) => [e.conn as string, []]));
  for (const e of events) if (typeof e.conn === 'string' && e.type !== 'conn-open') byConn.get(e.conn)?.push(e);
  const conns = [...byConn.values()].filter(
    (list) => !list.some((e) => e.type === 'http' && e.from === 'client' && String(e.head).includes(PROBE)),
  );
  return buildTrace(conns, consoleLines, `/s/${id}`);
}

/** Runs `program` as learner code in the sandbox `t`; its trace (the wire as the monitor saw it). */
export async function runSandbox(t: TestApp, program: Program): Promise<Run> {
  const res = await fetch(`${t.http}/api/sessions?server=1`, { method: 'POST', signal: AbortSignal.timeout(5000) });
  if (res.status !== 201) throw new Error(`POST /api/sessions?server=1 → ${res.status}`);
  const { id, hostSecret } = (await res.json()) as { id: string; hostSecret: string };
  const monitor = await Monitor.open(t, id);
  const timers = new TimerScope();
  const lines: string[] = [];
  const host = await openHost(t, id, hostSecret, lines);
  let clients: Clients | null = null;
  try {
    installTimers(timers);
    runServerCode(PROLOGUE + program.server, host.link);
    await until(() => host.link.listening.length > 0, LISTEN_MS, 'the learner server to listen');
    if (host.link.io) await realSocketIoReady(t.http, id);
    clients = new Clients({ port: t.port, prefix: `/s/${id}` });
    await within(program.client(clients), SCRIPT_MS, `the client script of ${program.name} (sandbox)`);
    await clients.closeAll();
    await until(() => !openConnections(monitor.events), SETTLE_MS, 'the connections to close (sandbox)').catch(() => {});
    await sleep(CONSOLE_MS);
    return traceFromMonitor(monitor.events, id, lines);
  } finally {
    if (clients) await clients.closeAll().catch(() => {});
    timers.clear();
    host.ws.close();
    monitor.close();
  }
}
