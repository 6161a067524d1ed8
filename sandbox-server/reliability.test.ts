// Reliability fixes of issue 9, each on real sockets: what a hostile client could do before, and
// what the server does now. (The abuse suite, `npm run stress`, runs the same attacks at scale.)
import { once } from 'node:events';
import { createServer, get } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ABANDONED_MS } from './sessions.ts';
import { createStaticHandler } from './static-files.ts';
import { io as connectIo } from 'socket.io-client';
import { MAX_ROOMS_PER_SOCKET } from './scenarios/socket-io.ts';
import { Monitor, createSession, sleep, startApp, within } from './test-helpers.ts';
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
        const res = await new Promise<IncomingMessage>((resolve, reject) => get({ host: '127.0.0.1', port, path }, resolve).on('error', reject));
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
    const s = connectIo(t.http, { path: `/s/${id}/socket.io/`, query: { client: 'x'.repeat(8000) }, reconnection: false, forceNew: true, transports: ['polling'] });
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
      for (let i = 0; i <= MAX_ROOMS_PER_SOCKET; i++) answers.push(await within(new Promise((r) => s.emit('join', `r${i}`, r)), 5000, 'join ack'));
      expect(answers.at(-2)).toHaveLength(MAX_ROOMS_PER_SOCKET + 1); // its own room and MAX rooms
      expect(answers.at(-1)).toMatchObject({ error: expect.stringMatching(/Trop de salons/) });
    } finally {
      s.disconnect();
    }
  });
});
