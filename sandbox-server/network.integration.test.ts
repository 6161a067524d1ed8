// Network conditions of a session (network.ts), on real sockets over 127.0.0.1: the latency and the
// bandwidth cap measured from a client, the backpressure as the sandbox's own socket sees it, both
// drops, the validation of POST /api/sessions, and a session without conditions left alone.
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connectIo } from 'socket.io-client';
import WebSocket from 'ws';
import { runServerCode } from '../site/scripts/playground/server-runtime/run.ts';
import { openHost } from './learner-server/test-host.ts';
import type { NetworkConditions } from '#protocol';
import { QUEUE_BOUND } from './network.ts';
import { Monitor, closed, createSession, nextMessage, openWs, sleep, startApp, within } from './test-helpers.ts';
import type { TestApp } from './test-helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ matchIntervalMin: 20, silentHoldMs: 2500 });
});
afterAll(() => t.close());

async function post(body: string): Promise<{ status: number; json: { id?: string; error?: string } }> {
  const res = await fetch(`${t.http}/api/sessions`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/json' },
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, json: (await res.json()) as { id?: string; error?: string } };
}

async function sessionWith(network: NetworkConditions): Promise<string> {
  const { status, json } = await post(JSON.stringify({ network }));
  expect(status, json.error).toBe(201);
  return json.id as string;
}

/** The sandbox's side of the session's learner connections. */
function serverSockets(id: string): Socket[] {
  const session = t.app.sandbox.registry.get(id);
  if (!session) throw new Error('no session');
  return [...session.sockets] as Socket[];
}

/** Median round trip of `n` echoes of a short text. */
/** Round trips of `n` echoes: the fastest and the median (ms). */
async function echoRtt(ws: WebSocket, n: number): Promise<{ min: number; median: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const reply = nextMessage(ws);
    ws.send(`m${i}`);
    expect((await reply).data.toString()).toBe(`m${i}`);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { min: times[0], median: times[Math.floor(n / 2)] };
}

describe('POST /api/sessions with network conditions', () => {
  it('refuses bad values with 400 and a French message', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{"network":{"latencyMs":2001}}', /latencyMs.*0 à 2000/],
      ['{"network":{"latencyMs":-1}}', /latencyMs/],
      ['{"network":{"latencyMs":1.5}}', /entier/],
      ['{"network":{"bandwidth":1023}}', /bandwidth.*1024 à 1048576/],
      ['{"network":{"bandwidth":"16k"}}', /bandwidth/],
      ['{"network":{"dropAfterMs":999}}', /dropAfterMs.*1000 à 60000/],
      ['{"network":{"dropAfterMs":5000,"drop":"cable"}}', /drop.*reset.*silent/],
      ['{"network":{"drop":"silent"}}', /demande dropAfterMs/],
      ['{"network":{"dropJitterMs":2000}}', /dropJitterMs.*demande dropAfterMs/],
      ['{"network":{"dropAfterMs":2000,"dropJitterMs":60001}}', /dropJitterMs.*0 à 60000/],
      ['{"network":{"latency":200}}', /champ inconnu.*latency/],
      ['{"network":[200]}', /attendu un objet/],
      ['{"netwrk":{}}', /champ inconnu/],
      ['pas du json', /attendu du JSON/],
    ];
    for (const [body, message] of cases) {
      const { status, json } = await post(body);
      expect(status, body).toBe(400);
      expect(json.error, body).toMatch(/invalides?\u00a0:/);
      expect(json.error, body).toMatch(message);
    }
    const big = await post(JSON.stringify({ network: { latencyMs: 10 }, pad: 'x'.repeat(5000) }));
    expect(big.status).toBe(413);
  });

  it('announces the conditions in hello and GET /api/sessions/<id>, the drop mode filled in', async () => {
    const id = await sessionWith({ latencyMs: 200, bandwidth: 16384, dropAfterMs: 5000 });
    const m = await Monitor.open(t, id);
    expect(m.events[0].network).toEqual({ latencyMs: 200, bandwidth: 16384, dropAfterMs: 5000, drop: 'reset' });
    const res = await fetch(`${t.http}/api/sessions/${id}`);
    expect(((await res.json()) as { network?: unknown }).network).toEqual(m.events[0].network);
    m.close();
    // No conditions: no field, no link.
    const plain = await createSession(t);
    const m2 = await Monitor.open(t, plain);
    expect(m2.events[0].network).toBeUndefined();
    expect(t.app.sandbox.registry.get(plain)?.network).toBeNull();
    m2.close();
  });
});

describe('latency', () => {
  it('adds the one-way delay in each direction: an echo takes two more latencies, the handshake too', async () => {
    const latency = 150;
    const plain = await createSession(t);
    const slow = await sessionWith({ latencyMs: latency });
    let start = performance.now();
    const a = await openWs(`${t.ws}/s/${plain}/echo`);
    const plainOpen = performance.now() - start;
    start = performance.now();
    const b = await openWs(`${t.ws}/s/${slow}/echo`);
    const slowOpen = performance.now() - start;
    const base = await echoRtt(a, 5);
    const rtt = await echoRtt(b, 5);
    // The delay is a floor: even the fastest echo waits two latencies (timers never fire early),
    // whatever the machine's load. The ceiling is loose (a loaded CI machine adds its own delays)
    // but still fails if a direction were delayed twice (4 latencies).
    expect(rtt.min).toBeGreaterThanOrEqual(2 * latency - 2);
    expect(rtt.median - base.median).toBeLessThan(3 * latency);
    // The upgrade request is held one latency on its way in, the 101 one on its way out.
    expect(slowOpen).toBeGreaterThanOrEqual(2 * latency - 2);
    expect(slowOpen - plainOpen).toBeLessThan(3 * latency);
    // A session without conditions: its sockets are plain (no shaping functions of their own).
    for (const s of serverSockets(plain)) expect(Object.hasOwn(s, 'push')).toBe(false);
    for (const s of serverSockets(slow)) expect(Object.hasOwn(s, 'push')).toBe(true);
    a.close();
    b.close();
  });

  it('the monitor shows a client frame when the sandbox receives it, a server frame when it writes it', async () => {
    const latency = 200;
    const id = await sessionWith({ latencyMs: latency });
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    const sentAt = Date.now();
    const reply = nextMessage(ws);
    ws.send('bonjour');
    await reply;
    const receivedAt = Date.now();
    const fromClient = await m.waitFor((e) => e.type === 'frame' && e.from === 'client' && e.text === 'bonjour');
    const fromServer = await m.waitFor((e) => e.type === 'frame' && e.from === 'server' && e.text === 'bonjour');
    expect(fromClient.t - sentAt).toBeGreaterThanOrEqual(latency - 5);
    expect(fromServer.t - fromClient.t).toBeLessThan(50);
    expect(receivedAt - fromServer.t).toBeGreaterThanOrEqual(latency - 5);
    ws.close();
    m.close();
  });
});

describe('bandwidth', () => {
  it('64 KiB each way at 16 KiB/s take about 4 s; the sandbox reads no more than its bound ahead', async () => {
    const id = await sessionWith({ bandwidth: 16384 });
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    const chunk = Buffer.alloc(16384, 7);
    let got = 0;
    const all = within(
      new Promise<void>((resolve) =>
        ws.on('message', (d: Buffer) => {
          got += d.length;
          if (got >= 4 * chunk.length) resolve();
        }),
      ),
      10_000,
      'the echoes',
    );
    const start = performance.now();
    for (let i = 0; i < 4; i++) ws.send(chunk);
    await sleep(300);
    // The client's 64 KiB left at once (loopback); the sandbox holds them and lets them in at 16 KiB/s.
    const [socket] = serverSockets(id);
    expect(socket.bytesRead).toBeGreaterThan(60_000);
    await all;
    const elapsed = performance.now() - start;
    // 4 × 16 KiB + headers, less the first burst of 1.6 KiB: ≥ 3.8 s in; out is pipelined behind it.
    expect(elapsed).toBeGreaterThanOrEqual(3500);
    expect(elapsed).toBeLessThan(6500);
    ws.close();
  });

  it('a fast sender is stopped: the sandbox reads at most its bound plus one read ahead of the cap', async () => {
    const id = await sessionWith({ bandwidth: 8192 });
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    // The client does not read its echoes either way: what matters is what the sandbox reads.
    const chunk = Buffer.alloc(60_000, 1);
    for (let i = 0; i < 40; i++) ws.send(chunk);
    await sleep(1500);
    const [socket] = serverSockets(id);
    // 2.4 MB sent; the sandbox has read its queue (64 KiB), at most one more read (64 KiB), and what
    // 1.5 s at 8 KiB/s let through.
    expect(socket.bytesRead).toBeLessThanOrEqual(2 * QUEUE_BOUND + 1.6 * 8192 + 2048);
    expect(socket.bytesRead).toBeGreaterThan(QUEUE_BOUND / 2);
    ws.terminate();
  });

  it('the sandbox writes at the cap too, and its WebSocket bufferedAmount grows (real backpressure)', async () => {
    const id = await sessionWith({ bandwidth: 65536 });
    const ws = await openWs(`${t.ws}/s/${id}/control`);
    let got = 0;
    const all = within(
      new Promise<void>((resolve) =>
        ws.on('message', (d: Buffer) => {
          got += d.length;
          if (got >= 180_000) resolve();
        }),
      ),
      8000,
      'three binary messages',
    );
    const start = performance.now();
    for (let i = 0; i < 3; i++) ws.send(JSON.stringify({ cmd: 'binary', size: 60_000 }));
    await sleep(200);
    const session = t.app.sandbox.registry.get(id);
    const [learner] = [...(session?.websockets ?? [])];
    // 180 000 bytes written at once: the shaper holds up to 64 KiB, the socket's own buffer the
    // rest, which ws counts in bufferedAmount (as write() answering false tells the writer).
    expect(learner.bufferedAmount).toBeGreaterThan(60_000);
    await all;
    expect(performance.now() - start).toBeGreaterThanOrEqual(2300);
    expect(learner.bufferedAmount).toBe(0);
    ws.close();
  });
});

describe('drop', () => {
  it('reset: the connection is reset after dropAfterMs, the client sees 1006, the monitor a net-drop', async () => {
    const id = await sessionWith({ dropAfterMs: 1000 });
    const m = await Monitor.open(t, id);
    const start = performance.now();
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    const { code } = await closed(ws, 4000);
    const elapsed = performance.now() - start;
    expect(code).toBe(1006);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(2000);
    const drop = await m.waitFor((e) => e.type === 'net-drop');
    expect(drop).toMatchObject({ conn: 'c1', mode: 'reset' });
    expect(drop.afterMs).toBeGreaterThanOrEqual(1000);
    const close = await m.waitFor((e) => e.type === 'conn-close');
    expect(close.seq).toBeGreaterThan(drop.seq);
    m.close();
  });

  it('dropJitterMs: each connection is cut at its own time, within dropAfterMs and dropAfterMs + dropJitterMs', async () => {
    const id = await sessionWith({ dropAfterMs: 1000, dropJitterMs: 1500 });
    const m = await Monitor.open(t, id);
    const sockets = await Promise.all(Array.from({ length: 6 }, () => openWs(`${t.ws}/s/${id}/echo`)));
    const codes = await Promise.all(sockets.map((ws) => closed(ws, 5000)));
    expect(codes.map((c) => c.code)).toEqual([1006, 1006, 1006, 1006, 1006, 1006]);
    // Every connection's own drop (the monitor may tell the last one after the client saw it).
    await m.waitFor((e) => e.type === 'conn-close' && m.of('conn-close').length === 6, 2000);
    const drops = m.of('net-drop');
    expect(drops).toHaveLength(6);
    const after = drops.map((d) => d.afterMs);
    for (const ms of after) {
      expect(ms).toBeGreaterThanOrEqual(1000);
      expect(ms).toBeLessThan(2500 + 300);
    }
    // Six uniform draws over 1.5 s all within 100 ms of one another: about 1 chance in 100 000.
    expect(Math.max(...after) - Math.min(...after)).toBeGreaterThan(100);
    m.close();
  });

  it('silent: nothing passes either way, the TCP connection stays open, even when the sandbox destroys its socket', async () => {
    const id = await sessionWith({ dropAfterMs: 1000, drop: 'silent' });
    const m = await Monitor.open(t, id);
    const events: string[] = [];
    const ws = new WebSocket(`${t.ws}/s/${id}/match?interval=100`);
    ws.on('message', (d) => events.push(d.toString()));
    let clientClosed = false;
    ws.on('close', () => {
      clientClosed = true;
    });
    await within(new Promise((r) => ws.once('open', r)), 5000, 'open');
    await sleep(700);
    expect(events.length).toBeGreaterThan(2);
    await m.waitFor((e) => e.type === 'net-drop', 2000);
    await sleep(100);
    const before = events.length;
    const framesBefore = m.of('frame').filter((f) => f.from === 'client').length;
    ws.send('encore là\u00a0?');
    await sleep(800);
    expect(events.length).toBe(before);
    expect(m.of('frame').filter((f) => f.from === 'client').length).toBe(framesBefore);
    expect(clientClosed).toBe(false);
    // The sandbox's side gives up on it (as a heartbeat would): the client still sees nothing.
    const [socket] = serverSockets(id);
    const serverClosed = new Promise((r) => socket.once('close', r));
    socket.destroy();
    await within(serverClosed, 1000, 'the sandbox socket closes');
    await sleep(500);
    expect(clientClosed).toBe(false);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    // Until the hold ends (2.5 s here, 60 s by default): then the TCP connection is closed for real.
    await within(new Promise<void>((r) => (clientClosed ? r() : ws.once('close', () => r()))), 3000, 'the end of the silent hold');
    m.close();
  });
});

describe('every kind of connection of the session', () => {
  it('Socket.IO: polling and WebSocket are delayed; a reset drop is a "transport close"', async () => {
    const id = await sessionWith({ latencyMs: 100, dropAfterMs: 1500 });
    const start = performance.now();
    const socket = connectIo(t.http, { path: `/s/${id}/socket.io/`, reconnection: false, forceNew: true });
    await within(new Promise((r) => socket.once('connect', () => r(null))), 5000, 'connect');
    // Handshake GET, then the CONNECT POST and its answer on a polling GET: at least two round trips.
    expect(performance.now() - start).toBeGreaterThanOrEqual(400);
    await within(new Promise((r) => socket.io.engine.once('upgrade', () => r(null))), 5000, 'upgrade');
    const askedAt = performance.now();
    const answer = await within(socket.emitWithAck('ask', 'latence'), 3000, 'ack');
    expect(String(answer)).toMatch(/42/);
    expect(performance.now() - askedAt).toBeGreaterThanOrEqual(195);
    const reason = await within(new Promise<string>((r) => socket.once('disconnect', r)), 4000, 'disconnect');
    expect(reason).toBe('transport close');
    socket.close();
  });

  it('Server-Sent Events: each event arrives a latency late; a reset drop ends the stream', async () => {
    const id = await sessionWith({ latencyMs: 300, dropAfterMs: 1200 });
    const m = await Monitor.open(t, id);
    const controller = new AbortController();
    const start = performance.now();
    const res = await fetch(`${t.http}/s/${id}/match/events?interval=100`, { signal: controller.signal });
    // Request in, head out: two latencies.
    expect(performance.now() - start).toBeGreaterThanOrEqual(595);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const ended = within(
      (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return 'done';
            text += Buffer.from(value).toString();
          }
        } catch {
          return 'error';
        }
      })(),
      4000,
      'the end of the stream',
    );
    expect(['done', 'error']).toContain(await ended);
    expect(text).toMatch(/event: snapshot/);
    const drop = await m.waitFor((e) => e.type === 'net-drop');
    expect(drop.afterMs).toBeGreaterThanOrEqual(1200);
    controller.abort();
    m.close();
  });

  it('learner server: its WebSocket clients get the latency both ways', async () => {
    const res = await fetch(`${t.http}/api/sessions?server=1`, {
      method: 'POST',
      body: JSON.stringify({ network: { latencyMs: 120 } }),
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(201);
    const { id, hostSecret } = (await res.json()) as { id: string; hostSecret: string };
    const h = await openHost(t, id, hostSecret);
    runServerCode(
      `const { WebSocketServer } = require('ws');
       new WebSocketServer({ port: 8080 }).on('connection', (ws) => ws.on('message', (d) => ws.send('écho : ' + d)));`,
      h.link,
    );
    const ws = await openWs(`${t.ws}/s/${id}/chat`);
    const rtt = await (async () => {
      const start = performance.now();
      const reply = nextMessage(ws);
      ws.send('bonjour');
      expect((await reply).data.toString()).toBe('écho : bonjour');
      return performance.now() - start;
    })();
    expect(rtt).toBeGreaterThanOrEqual(235);
    expect(rtt).toBeLessThan(1000);
    ws.close();
    h.ws.close();
  });
});
