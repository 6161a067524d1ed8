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
import { Monitor, createSession, sleep, startApp } from './test-helpers.ts';
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
});
