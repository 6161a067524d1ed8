// Guards the « Performance rules » of sandbox-server/README.md on a real server (127.0.0.1, port
// 0): idle learner WebSockets (echo, two per session with the session's monitor, as the bench
// opens them) and Socket.IO clients, opened by real ws / socket.io-client clients that run in a
// worker thread (its own heap, timers and event loop), so that what is measured here is the
// server's alone. Checked per idle connection: the listeners on the server's TCP socket and on
// the learner's ws WebSocket (rules 1–3), no timer per connection (rule 4), and the JS heap and
// external memory it keeps after full collections (rules 1, 8–10). Hand-built JSON equal to
// JSON.stringify (rule 5) is serialize.test.ts's.
import { createHook } from 'node:async_hooks';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session } from './sessions.ts';
import { sleep, startApp, within } from './test-helpers.ts';
import type { TestApp } from './test-helpers.ts';

/** Listeners per event on the server's TCP socket of an idle connection, and why each is there. */
const SOCKET_LISTENERS: Record<string, Record<string, number>> = {
  learner: {
    data: 1, // ws's receiver (the tap reads through its emit wrapper, not a listener)
    end: 2, // Node's stream bookkeeping and ws's
    close: 2, // ws's and the per-IP connection count's (sessions.ts onAdmittedClose)
    error: 1, // ws's (the tap drops its own once ws has one)
  },
  // monitor-socket.ts: one shared listener per event; the session monitor has none (the socket's
  // owner unsubscribes it), the tap none (an upgrade it does not own is untapped).
  monitor: {
    data: 1,
    end: 2, // Node's and the monitor socket's
    close: 1,
    error: 1,
  },
  // Socket.IO over WebSocket: engine.io upgrades after an asynchronous check, once the tap has
  // gone synchronous with only its own 'error' listener, which therefore stays.
  socketIo: {
    data: 1, // ws's
    end: 2, // Node's and ws's
    close: 3, // ws's, the per-IP connection count's and engine.io's (its WebSocketResponse)
    error: 2, // ws's and the tap's
  },
};

/** Listeners per event on the server's ws WebSocket of an idle echo connection (scenarios/common.ts). */
const LEARNER_WS_LISTENERS: Record<string, number> = { close: 1, message: 1, error: 1 };

/** Armed timers per Socket.IO client: engine.io's heartbeat (ping interval, then ping timeout; one at a time when idle). */
const TIMERS_PER_SOCKET_IO_CLIENT = 2;

/**
 * Retained JS heap per idle learner connection, its share of a session and of its monitor
 * included: 5.7–6.1 KiB measured on 2026-12-07, about twice that allowed.
 */
const HEAP_PER_CONNECTION_BOUND = 13 * 1024;
/** Memory outside the JS heap (Buffers) kept per idle learner connection: 0 measured on 2026-12-07. */
const EXTERNAL_PER_CONNECTION_BOUND = 1024;

/** V8's full collection without --expose-gc (as memory.ts gets it). */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The JS heap in use and the memory outside it (Buffers), after full collections. */
function memoryAfterGc(): { heap: number; external: number } {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external };
}

// The clients, in a worker thread. CommonJS, as eval'd workers are; packages resolved from here.
const CLIENTS = `
const { parentPort, workerData } = require('node:worker_threads');
const load = require('node:module').createRequire(workerData.from);
const WebSocket = load('ws');
const { io } = load('socket.io-client');
const sockets = [];
const open = (url) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url);
  ws.on('message', () => {});
  ws.once('open', () => resolve(ws));
  ws.once('error', reject);
});
const portOf = (ws) => ws._socket.localPort;
parentPort.on('message', async (m) => {
  try {
    if (m.cmd === 'open') {
      const base = '127.0.0.1:' + m.port;
      const ports = { learner: [], monitor: [], sio: [] };
      for (const id of m.sessions) {
        const monitor = await open('ws://' + base + '/api/sessions/' + id + '/monitor');
        sockets.push(monitor);
        ports.monitor.push(portOf(monitor));
        for (let i = 0; i < m.perSession; i++) {
          const ws = await open('ws://' + base + '/s/' + id + '/echo?client=' + 'AB'[i % 2]);
          sockets.push(ws);
          ports.learner.push(portOf(ws));
        }
      }
      for (const id of m.sioSessions) {
        const s = io('http://' + base, { path: '/s/' + id + '/socket.io/', transports: ['websocket'], reconnection: false, forceNew: true, query: { client: 'A' } });
        await new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); });
        sockets.push(s);
        ports.sio.push(portOf(s.io.engine.transport.ws));
      }
      // The monitors get the handshake events of every connection before anything is measured.
      await new Promise((r) => setTimeout(r, 300));
      parentPort.postMessage({ ok: true, ports });
    } else if (m.cmd === 'close') {
      for (const s of sockets.splice(0)) s.terminate ? s.terminate() : s.disconnect();
      parentPort.postMessage({ ok: true });
    }
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err) });
  }
});
`;

interface Opened {
  learner: number[];
  monitor: number[];
  sio: number[];
}

class Clients {
  private readonly worker = new Worker(CLIENTS, { eval: true, workerData: { from: import.meta.url } });

  private async ask<T>(message: object, ms = 10_000): Promise<T> {
    this.worker.postMessage(message);
    const [answer] = (await within(once(this.worker, 'message'), ms, `clients: ${JSON.stringify(message).slice(0, 60)}`)) as [
      { ok: boolean; error?: string } & T,
    ];
    if (!answer.ok) throw new Error(answer.error);
    return answer;
  }

  async open(port: number, sessions: Session[], perSession: number, sioSessions: Session[] = []): Promise<Opened> {
    const answer = await this.ask<{ ports: Opened }>({
      cmd: 'open',
      port,
      sessions: sessions.map((s) => s.id),
      perSession,
      sioSessions: sioSessions.map((s) => s.id),
    });
    return answer.ports;
  }

  close(): Promise<unknown> {
    return this.ask({ cmd: 'close' });
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }
}

/** Listeners per event of an emitter, e.g. { data: 1, close: 2 }. */
function listenerCounts(emitter: NodeJS.EventEmitter): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of emitter.eventNames()) counts[String(name)] = emitter.listenerCount(name);
  return counts;
}

/** The largest count of each event over `emitters`. */
function maxCounts(emitters: NodeJS.EventEmitter[]): Record<string, number> {
  const max: Record<string, number> = {};
  for (const e of emitters) for (const [name, n] of Object.entries(listenerCounts(e))) max[name] = Math.max(max[name] ?? 0, n);
  return max;
}

/**
 * Timers made since and still armed (ref'd or not: a socket's setTimeout is unref'd). async_hooks
 * reports every Timeout made; one cleared or fired is marked _destroyed at once, its destroy hook
 * may come later.
 */
function timerTracker() {
  const made = new Map<number, { _destroyed?: boolean }>();
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type === 'Timeout') made.set(id, resource as { _destroyed?: boolean });
    },
    destroy(id) {
      made.delete(id);
    },
  }).enable();
  return {
    armed: () => [...made.values()].filter((timer) => !timer._destroyed).length,
    stop: () => hook.disable(),
  };
}

const refTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

let t: TestApp;
let clients: Clients;
beforeAll(async () => {
  // Many sessions and connections from one address, opened fast: the per-IP limits are raised.
  t = await startApp({ maxSessionsPerIp: 10_000, maxConnectionsPerIp: 10_000, ipConnectionBurst: 10_000, ipConnectionsPerSecond: 10_000 });
  clients = new Clients();
});
afterAll(async () => {
  await clients?.stop();
  await t?.close();
});

/** Every session made here. */
const made: Session[] = [];

function newSessions(n: number): Session[] {
  return Array.from({ length: n }, () => {
    const s = t.app.sandbox.registry.create('127.0.0.1');
    if (typeof s === 'string') throw new Error(`session refused: ${s}`);
    made.push(s);
    return s;
  });
}

/** Closes every client and waits until the server has let go of their connections. */
async function closeClients(): Promise<void> {
  await clients.close();
  const gone = () => made.every((s) => s.sockets.size === 0 && s.monitor.monitorCount === 0);
  await within(
    (async () => {
      while (!gone()) await sleep(10);
    })(),
    5000,
    'the server to see the clients gone',
  );
}

describe('performance rules, per idle connection', () => {
  it('one listener per event (no listener arrays but those pinned) and no timer per connection', async () => {
    const sockets = new Map<number, Socket>();
    const onConnection = (socket: Socket) => sockets.set(socket.remotePort as number, socket);
    t.app.server.on('connection', onConnection);
    const sessions = newSessions(20);
    const timers = timerTracker();
    const refBefore = refTimers();
    const opened = await clients.open(t.port, sessions, 2, newSessions(2));
    const armed = timers.armed();
    const refAfter = refTimers();
    timers.stop();
    t.app.server.off('connection', onConnection);

    const serverSocket = (port: number) => sockets.get(port) as Socket;
    const learners = opened.learner.map(serverSocket);
    const monitors = opened.monitor.map(serverSocket);
    expect(learners.every(Boolean) && monitors.every(Boolean)).toBe(true);
    const learnerWs = [...t.app.sandbox.registry.webSockets()].filter((ws) =>
      learners.includes((ws as unknown as { _socket: Socket })._socket),
    );
    expect(learnerWs).toHaveLength(learners.length);
    const measured = {
      learner: maxCounts(learners),
      monitor: maxCounts(monitors),
      learnerWs: maxCounts(learnerWs),
      socketIo: maxCounts(opened.sio.map(serverSocket)),
    };
    console.log(`perf-rules: listeners per idle connection ${JSON.stringify(measured)}`);
    console.log(
      `perf-rules: ${armed} timers made and still armed (ref'd timers ${refBefore} → ${refAfter}) for ${learners.length} learners, ${monitors.length} monitors, ${opened.sio.length} Socket.IO clients`,
    );
    expect(measured.learner).toEqual(SOCKET_LISTENERS.learner);
    expect(measured.monitor).toEqual(SOCKET_LISTENERS.monitor);
    expect(measured.socketIo).toEqual(SOCKET_LISTENERS.socketIo);
    expect(measured.learnerWs).toEqual(LEARNER_WS_LISTENERS);
    const allowed = TIMERS_PER_SOCKET_IO_CLIENT * opened.sio.length;
    expect(armed).toBeLessThanOrEqual(allowed);
    expect(refAfter - refBefore).toBeLessThanOrEqual(allowed);
    await closeClients();
  });

  it('JS heap and external memory kept per idle learner connection under their bounds', async () => {
    // A first round, so that what is made once (code, shared caches) is not counted per connection.
    await clients.open(t.port, newSessions(10), 2);
    await closeClients();
    const N = 200;
    const before = memoryAfterGc();
    await clients.open(t.port, newSessions(N / 2), 2);
    const after = memoryAfterGc();
    const heap = (after.heap - before.heap) / N;
    const external = (after.external - before.external) / N;
    console.log(
      `perf-rules: per idle learner connection (${N} echo connections, 2 per session, a monitor per session): ` +
        `JS heap ${(heap / 1024).toFixed(2)} KiB (bound ${HEAP_PER_CONNECTION_BOUND / 1024}), external ${Math.round(external)} bytes (bound ${EXTERNAL_PER_CONNECTION_BOUND})`,
    );
    expect(heap).toBeLessThan(HEAP_PER_CONNECTION_BOUND);
    expect(external).toBeLessThan(EXTERNAL_PER_CONNECTION_BOUND);
    await closeClients();
  });
});
