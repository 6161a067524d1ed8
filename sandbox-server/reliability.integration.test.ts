// Reliability fixes of issue 9, each on real sockets: what a hostile client could do before, and
// what the server does now. (The abuse suite, `npm run stress`, runs the same attacks at scale.)
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import { createServer, get } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ABANDONED_MS } from './sessions.ts';
import { KeyedRate } from './limits.ts';
import { createStaticHandler } from './static-files.ts';
import { io as connectIo } from 'socket.io-client';
import { MAX_ROOMS_PER_SOCKET } from './scenarios/socket-io.ts';
import {
  Monitor,
  closed,
  createSession,
  openWs,
  rawConnection,
  rawUpgrade,
  receivedUntil,
  sleep,
  startApp,
  upgradeRequest,
  within,
} from './test-helpers.ts';
import type { TestApp } from './test-helpers.ts';

let t: TestApp | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

describe('reliability', () => {
  it('a refused session request does not count as activity of the IP’s other sessions (no lock-out)', async () => {
    t = await startApp({ maxSessionsPerIp: 1 });
    const id = await createSession(t);
    const session = t.app.sandbox.registry.get(id)!;
    // Quiet for almost long enough to be reclaimed: the next request is still refused…
    const quietSince = Date.now() - ABANDONED_MS + 600;
    session.lastActivity = quietSince;
    expect((await fetch(`${t.http}/api/sessions`, { method: 'POST' })).status).toBe(429);
    // …and that refusal (and its limit event) must not make the session look active again.
    await sleep(20);
    expect(session.lastActivity).toBe(quietSince);
    await sleep(700);
    expect((await fetch(`${t.http}/api/sessions`, { method: 'POST' })).status).toBe(201);
    expect(t.app.sandbox.registry.get(id)).toBeUndefined();
  });

  it('a redirect to a folder never points to another host (`/.//x` → `/x/`, not `//x/`)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'atelier-static-'));
    mkdirSync(join(root, 'fondations', 'api-websocket'), { recursive: true });
    writeFileSync(join(root, 'fondations', 'api-websocket', 'index.html'), '<!doctype html>');
    const handler = createStaticHandler(root);
    const server = createServer((req, res) => void handler(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    try {
      for (const path of ['/.//fondations/api-websocket', '//fondations/api-websocket', '/fondations/api-websocket?a=1']) {
        // node:http sends the path as written (fetch would normalize `/./` away).
        const res = await new Promise<IncomingMessage>((resolve, reject) =>
          get({ host: '127.0.0.1', port, path }, resolve).on('error', reject),
        );
        res.resume();
        expect(res.statusCode, path).toBe(308);
        const location = res.headers.location ?? '';
        expect(location, path).toMatch(/^\/fondations\/api-websocket\/(\?a=1)?$/);
      }
    } finally {
      server.close();
    }
  });

  it('Engine.IO’s own 400 answer (unknown sid) is not reported as a protocol violation', async () => {
    t = await startApp();
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const res = await fetch(`${t.http}/s/${id}/socket.io/?EIO=4&transport=polling&sid=nope`);
    expect(res.status).toBe(400);
    await m.waitFor((e) => e.type === 'http' && e.from === 'server' && e.head.startsWith('HTTP/1.1 400'));
    await sleep(50);
    expect(m.of('violation')).toEqual([]);
    m.close();
  });

  it('over the memory budget, new sessions get 503 with a French JSON error; existing ones go on', async () => {
    t = await startApp();
    const id = await createSession(t);
    // A budget below what the process already holds.
    (t.app.sandbox.limits as { memoryBudget: number }).memoryBudget = 1024;
    const res = await fetch(`${t.http}/api/sessions`, { method: 'POST' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect(((await res.json()) as { error: string }).error).toMatch(/plein/);
    expect((await fetch(`${t.http}/api/sessions/${id}`)).status).toBe(200);
  });

  it('Socket.IO: a client label from the handshake query is checked like the WebSocket one', async () => {
    t = await startApp();
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const s = connectIo(t.http, {
      path: `/s/${id}/socket.io/`,
      query: { client: 'x'.repeat(8000) },
      reconnection: false,
      forceNew: true,
      transports: ['polling'],
    });
    try {
      await within(new Promise((r) => s.once('connect', () => r(null))), 5000, 'connect');
      await within(new Promise((r) => s.emit('join', 'salon', r)), 5000, 'join ack');
      const rooms = await m.waitFor((e) => e.type === 'rooms' && Object.keys(e.rooms).includes('salon'));
      const labels = Object.values(rooms.sockets as Record<string, { client: string | null }>).map((x) => x.client);
      expect(labels).toEqual([null]);
    } finally {
      s.disconnect();
      m.close();
    }
  });

  it('Socket.IO: a session holds at most maxEngineIoClients Engine.IO sessions; more get 403 and a limit event', async () => {
    t = await startApp({ maxEngineIoClients: 3 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const handshake = () => fetch(`${t!.http}/s/${id}/socket.io/?EIO=4&transport=polling`);
    for (let i = 0; i < 3; i++) expect((await handshake()).status).toBe(200);
    expect((await handshake()).status).toBe(403);
    expect(await m.waitFor((e) => e.type === 'limit')).toMatchObject({ limit: 'engine-io', action: 'http 403' });
    m.close();
  });

  it('Socket.IO: a socket joins at most MAX_ROOMS_PER_SOCKET rooms', async () => {
    t = await startApp();
    const id = await createSession(t);
    const s = connectIo(t.http, { path: `/s/${id}/socket.io/`, reconnection: false, forceNew: true });
    try {
      await within(new Promise((r) => s.once('connect', () => r(null))), 5000, 'connect');
      const answers: unknown[] = [];
      for (let i = 0; i <= MAX_ROOMS_PER_SOCKET; i++)
        answers.push(await within(new Promise((r) => s.emit('join', `r${i}`, r)), 5000, 'join ack'));
      expect(answers.at(-2)).toHaveLength(MAX_ROOMS_PER_SOCKET + 1); // its own room and MAX rooms
      expect(answers.at(-1)).toMatchObject({ error: expect.stringMatching(/Trop de salons/) });
    } finally {
      s.disconnect();
    }
  });

  it('every client frame counts against the rate: a ping flood is closed with 1008 like a message flood', async () => {
    t = await startApp({ messagesPerSecond: 5, messageBurst: 5 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    const done = closed(ws);
    let pongs = 0;
    ws.on('pong', () => pongs++);
    for (let i = 0; i < 50; i++) ws.ping('p');
    expect((await done).code).toBe(1008);
    expect(pongs).toBeLessThanOrEqual(6);
    expect(await m.waitFor((e) => e.type === 'limit')).toMatchObject({ limit: 'rate', action: 'close 1008', conn: 'c1' });
    m.close();
  });

  it('fragments of a message that never ends count too', async () => {
    t = await startApp({ messagesPerSecond: 5, messageBurst: 5 });
    const id = await createSession(t);
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    const done = closed(ws);
    for (let i = 0; i < 30; i++) ws.send('x'.repeat(100), { fin: false });
    expect((await done).code).toBe(1008);
  });

  it('a frame trickled byte by byte is cut after frameTimeoutMs (close 1008, limit event)', async () => {
    t = await startApp({ frameTimeoutMs: 300 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const { socket, received, closed: socketClosed } = await rawUpgrade(t.port, `/s/${id}/echo`);
    // A masked text frame of 100 bytes, of which only the header and mask arrive, then 1 byte.
    socket.write(Buffer.from([0x81, 0x80 | 100, 1, 2, 3, 4]));
    socket.write(Buffer.from([0x41]));
    // A close frame (0x88, length < 126) with code 1008 (0x03f0).
    const isClose1008 = (b: Buffer) => {
      const at = b.indexOf(0x88, b.indexOf('\r\n\r\n'));
      return at >= 0 && b.length >= at + 4 && b.readUInt16BE(at + 2) === 1008;
    };
    await receivedUntil(received, isClose1008, 'close 1008 from the server', 4000);
    expect(await m.waitFor((e) => e.type === 'limit')).toMatchObject({ limit: 'timeout', action: 'close 1008' });
    // The peer never completes the closing handshake: the socket is destroyed a little later.
    await within(socketClosed, 5000, 'socket destroyed');
    m.close();
  });

  it('a fragmented message without its last frame is cut after messageTimeoutMs', async () => {
    t = await startApp({ messageTimeoutMs: 300 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    const done = closed(ws);
    ws.send('début', { fin: false });
    expect((await done).code).toBe(1008);
    const limit = await m.waitFor((e) => e.type === 'limit');
    expect(limit).toMatchObject({ limit: 'timeout', action: 'close 1008' });
    expect(limit.message).toMatch(/Message fragmenté inachevé/);
    m.close();
  });

  it('a connection that never sends a byte, or never finishes its head, is closed after headersTimeoutMs', async () => {
    t = await startApp({ headersTimeoutMs: 300 });
    const idle = await rawConnection(t.port);
    const slow = await rawConnection(t.port);
    slow.socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const started = Date.now();
    await within(new Promise((r) => idle.socket.once('close', r)), 3000, 'idle connection closed');
    await within(new Promise((r) => slow.socket.once('close', r)), 3000, 'slow head closed');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('pipelined requests of two sessions on one connection (A, B, A): B’s answer never reaches A’s monitor', async () => {
    t = await startApp();
    const a = await createSession(t);
    const b = await createSession(t);
    const ma = await Monitor.open(t, a);
    const mb = await Monitor.open(t, b);
    const { socket, received } = await rawConnection(t.port);
    const get = (id: string, path: string) => `GET /s/${id}/${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    socket.write(get(a, 'premier-a') + get(b, 'secret-b') + get(a, 'second-a'));
    await receivedUntil(received, (buf) => (buf.toString().match(/HTTP\/1\.1 404/g) ?? []).length === 3, 'three answers');
    await ma.waitFor((e) => e.type === 'http' && e.from === 'server' && (e.body ?? '').includes('second-a'));
    await mb.waitFor((e) => e.type === 'http' && e.from === 'client' && e.head.includes('secret-b'));
    await sleep(50);
    const inA = JSON.stringify(ma.events);
    expect(inA).not.toContain('secret-b');
    // And A's answers are not shown as B's (by their paths: a session id may contain `-a`).
    const inB = JSON.stringify(mb.events);
    expect(inB).not.toContain('premier-a');
    expect(inB).not.toContain('second-a');
    socket.destroy();
    ma.close();
    mb.close();
  });

  it('a client that never reads its echoes is closed once maxSendBuffer bytes wait for it', async () => {
    t = await startApp({ maxSendBuffer: 64 * 1024, messagesPerSecond: 1e6, messageBurst: 1e6 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const { socket } = await rawUpgrade(t.port, `/s/${id}/echo`);
    socket.pause(); // never reads again: the kernel buffers fill, then the server's
    const payload = Buffer.alloc(32 * 1024, 0x61);
    const frame = Buffer.concat([Buffer.from([0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0x80, 0x00, 0, 0, 0, 0]), payload]); // mask 0: bytes as is
    for (let i = 0; i < 400 && !m.events.some((e) => e.type === 'limit'); i++) {
      socket.write(frame);
      if (i % 20 === 19) await sleep(10);
    }
    const limit = await m.waitFor((e) => e.type === 'limit', 10_000);
    expect(limit).toMatchObject({ limit: 'buffer', action: 'close 1008', conn: 'c1' });
    socket.destroy();
    m.close();
  });

  it('after a flood close, nothing more is read or decoded, and the socket is destroyed soon', async () => {
    t = await startApp({ messagesPerSecond: 5, messageBurst: 5 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const { socket, closed: socketClosed } = await rawUpgrade(t.port, `/s/${id}/echo`);
    const ping = Buffer.from([0x89, 0x80, 0, 0, 0, 0]); // masked empty ping
    socket.write(Buffer.concat(Array.from({ length: 50 }, () => ping)));
    await m.waitFor((e) => e.type === 'limit' && e.limit === 'rate');
    await sleep(50);
    const before = m.of('frame').filter((e) => e.from === 'client').length;
    // Only the frames within the rate are shown (50 came in one chunk, or a few), then a note.
    expect(before).toBeLessThanOrEqual(5);
    expect(m.of('info').some((e) => /au-delà de la limite de débit/.test(e.message))).toBe(true);
    for (let i = 0; i < 20 && !socket.destroyed; i++) socket.write(Buffer.concat(Array.from({ length: 200 }, () => ping)));
    await within(socketClosed, 5000, 'socket destroyed');
    expect(m.of('frame').filter((e) => e.from === 'client').length).toBe(before);
    m.close();
  });

  it('a deflate client that fails a frame while ws inflates does not crash the process (ws 8.23 bug, worked around)', async () => {
    t = await startApp({ messagesPerSecond: 1e6, messageBurst: 1e6 });
    const id = await createSession(t);
    const text = Buffer.from('lorem ipsum dolor sit amet '.repeat(2000)).subarray(0, 60_000);
    const mframe = (b0: number, payload: Buffer) => {
      const key = randomBytes(4);
      const n = payload.length;
      const h = n < 126 ? [b0, 0x80 | n] : [b0, 0x80 | 126, n >> 8, n & 255];
      return Buffer.concat([Buffer.from(h), key, Buffer.from(payload.map((b, i) => b ^ key[i & 3]))]);
    };
    const msg = mframe(0xc1, deflateRawSync(text, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).subarray(0, -4));
    for (let attempt = 0; attempt < 10; attempt++) {
      const { socket } = await rawUpgrade(t.port, `/s/${id}/echo-deflate`, 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
      socket.setNoDelay(true);
      socket.write(Buffer.concat(Array(40).fill(msg)));
      await sleep(1);
      socket.write(mframe(0x88, Buffer.from([0x03, 0xed]))); // close code 1005: fails in ws's data phase
      await sleep(1);
      socket.write(randomBytes(8));
      await sleep(30);
      socket.destroy();
    }
    // Still serving (an uncaught exception would have ended this test process).
    expect((await fetch(`${t.http}/api/sessions/${id}`)).status).toBe(200);
  });

  it('a keep-alive connection that moves to another session leaves the first (counted once per IP)', async () => {
    t = await startApp({ maxConnectionsPerIp: 1 });
    const a = await createSession(t);
    const b = await createSession(t);
    const { socket, received } = await rawConnection(t.port);
    const get = (id: string) => `GET /s/${id}/rien HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    socket.write(get(a));
    await receivedUntil(received, (buf) => (buf.toString().match(/HTTP\/1\.1 /g) ?? []).length === 1, 'first answer');
    socket.write(get(b));
    const all = await receivedUntil(received, (buf) => (buf.toString().match(/HTTP\/1\.1 /g) ?? []).length === 2, 'second answer');
    expect(all.toString().match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 404', 'HTTP/1.1 404']);
    expect(t.app.sandbox.registry.get(a)!.sockets.size).toBe(0);
    expect(t.app.sandbox.registry.get(b)!.sockets.size).toBe(1);
    socket.destroy();
  });

  it('new connections per session are rate-limited (429 and a limit event past the burst)', async () => {
    t = await startApp({ connectionsPerSecond: 1, connectionBurst: 3 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      // A new TCP connection each time (no keep-alive): each one is a new admission.
      const res = await new Promise<IncomingMessage>((resolve, reject) =>
        get({ host: '127.0.0.1', port: t!.port, path: `/s/${id}/rien`, agent: false }, resolve).on('error', reject),
      );
      res.resume();
      statuses.push(res.statusCode ?? 0);
    }
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    expect(await m.waitFor((e) => e.type === 'limit')).toMatchObject({ limit: 'connection-rate', action: 'http 429' });
    m.close();
  });

  it('past an IP’s rate of new TCP connections, a connection is closed unread', async () => {
    t = await startApp({ ipConnectionsPerSecond: 1, ipConnectionBurst: 3 });
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      outcomes.push(
        await new Promise<string>((resolve) => {
          get({ host: '127.0.0.1', port: t!.port, path: '/', agent: false }, (res) => {
            res.resume();
            resolve(String(res.statusCode));
          }).on('error', () => resolve('closed'));
        }),
      );
    }
    expect(outcomes).toEqual(['200', '200', '200', 'closed', 'closed']);
  });

  /** A polling handshake; returns the Engine.IO sid. */
  async function eioHandshake(base: string): Promise<string> {
    const res = await fetch(`${base}?EIO=4&transport=polling`);
    const body = await res.text();
    return (JSON.parse(body.slice(1)) as { sid: string }).sid;
  }

  it('Socket.IO: repeated CONNECTs in one polling body make one socket, then the Engine.IO connection is closed', async () => {
    t = await startApp();
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const base = `${t.http}/s/${id}/socket.io/`;
    const sid = await eioHandshake(base);
    const post = await fetch(`${base}?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: Array(500).fill('40').join('\x1e') });
    expect(post.status).toBe(200);
    const limit = await m.waitFor((e) => e.type === 'limit');
    expect(limit).toMatchObject({ limit: 'engine-io', action: 'disconnect' });
    await sleep(50);
    const io = t.app.sandbox.registry.get(id)!.getState('socket.io', () => null) as unknown as {
      of(n: string): { sockets: Map<string, unknown> };
      engine: { clientsCount: number };
    };
    expect(io.of('/').sockets.size).toBeLessThanOrEqual(1);
    expect(io.engine.clientsCount).toBe(0);
    m.close();
  });

  it('Socket.IO: pipelined handshakes on one connection cannot pass maxEngineIoClients', async () => {
    t = await startApp({ maxEngineIoClients: 3 });
    const id = await createSession(t);
    const { socket, received } = await rawConnection(t.port);
    const handshake = `GET /s/${id}/socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    socket.write(handshake.repeat(30));
    await receivedUntil(received, (b) => (b.toString().match(/HTTP\/1\.1 \d+/g) ?? []).length === 30, '30 answers');
    const statuses =
      received()
        .toString()
        .match(/HTTP\/1\.1 \d+/g) ?? [];
    expect(statuses.filter((x) => x.endsWith('200'))).toHaveLength(3);
    const io = t.app.sandbox.registry.get(id)!.getState('socket.io', () => null) as unknown as { engine: { clientsCount: number } };
    expect(io.engine.clientsCount).toBe(3);
    socket.destroy();
  });

  it('Socket.IO over polling: a client that never fetches its answers is disconnected past maxSendBuffer', async () => {
    t = await startApp({ maxSendBuffer: 64 * 1024 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const base = `${t.http}/s/${id}/socket.io/`;
    const sid = await eioHandshake(base);
    const url = `${base}?EIO=4&transport=polling&sid=${sid}`;
    expect((await fetch(url, { method: 'POST', body: '40' })).status).toBe(200);
    // Each `binary` event is echoed back: 5 000 characters a time, never fetched by a GET.
    const event = `42["binary","${'A'.repeat(5000)}"]`;
    for (let i = 0; i < 30 && !m.events.some((e) => e.type === 'limit'); i++) await fetch(url, { method: 'POST', body: event });
    expect(await m.waitFor((e) => e.type === 'limit')).toMatchObject({ limit: 'buffer', action: 'disconnect' });
    m.close();
  });

  it('an upgrade pipelined behind an unanswered request is cut (its answer would be shown as the upgrade’s)', async () => {
    t = await startApp();
    const a = await createSession(t);
    const b = await createSession(t);
    const mb = await Monitor.open(t, b);
    const { socket, received } = await rawConnection(t.port);
    const closedRaw = new Promise((r) => socket.once('close', r));
    socket.write(`GET /s/${a}/match/poll?wait=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n` + upgradeRequest(`/s/${b}/echo`));
    await within(closedRaw, 5000, 'connection cut');
    await sleep(100);
    expect(received().toString()).not.toContain('101 Switching Protocols');
    expect(JSON.stringify(mb.events)).not.toContain('Goélands');
    mb.close();
  });

  it('KeyedRate forgets only refilled buckets (a flooding key gets no fresh burst)', async () => {
    const rate = new KeyedRate(1, 2, 30);
    try {
      expect([rate.take('ip'), rate.take('ip'), rate.take('ip')]).toEqual([true, true, false]);
      await sleep(100); // several forget sweeps; the bucket has refilled by 0.1 token only
      expect(rate.take('ip')).toBe(false);
    } finally {
      rate.stop();
    }
  });
});
