// Session ids on a real server: an id with a bad tag gets exactly the 404 of an unknown session on
// every route (no oracle); the route key of the cluster's load balancer (X-Session-Route) is used
// only from a trusted proxy; a draining instance sends a new session back to the load balancer
// (307, bounded) when it came with a route key, and answers 503 otherwise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sampleValue } from './metrics-parse.ts';
import { parseTrustProxy } from './proxy.ts';
import type { TrustProxy } from './proxy.ts';
import { MAX_REROUTES } from './sandbox.ts';
import { createSessionIds } from './session-ids.ts';
import { createSession, rawConnection, rawUpgrade, startApp, within } from './test-helpers.ts';
import type { TestApp } from './test-helpers.ts';

const SECRET = 'test-secret-0123456789abcdefghijklmnopqrstuvwxyz';
const loopback = parseTrustProxy('127.0.0.1') as TrustProxy;

/** One raw HTTP/1.1 exchange (Connection: close); status, head and body. */
async function raw(t: TestApp, method: string, path: string, headers: Record<string, string> = {}) {
  const { socket, received } = await rawConnection(t.port);
  const done = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${t.port}`, 'Connection: close', 'Content-Length: 0'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  await within(done, 5000, `answer to ${method} ${path}`);
  const text = received().toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  const head = text.slice(0, end);
  return { status: Number(head.split(' ')[1]), head, body: text.slice(end + 4).replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/gi, '') };
}

/** The head without its Date line (the only part allowed to differ between two answers). */
const stable = (head: string) => head.replace(/^date: .*$/im, '');

describe('session ids on the server', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({}, { sessionSecrets: [SECRET], trustProxy: loopback });
  });
  afterAll(() => t.close());

  it('answers an id with a bad tag exactly as an unknown session, on every route', async () => {
    const real = await createSession(t);
    // Signed with the server's secret but never created (another instance's, or an expired one).
    const unknown = createSessionIds([SECRET]).mint();
    const forged = `${real.slice(0, -1)}${real.at(-1) === 'A' ? 'B' : 'A'}`;
    const foreign = createSessionIds(['another-secret-0123456789abcdefghijklmnop']).mint();
    for (const path of ['/api/sessions/ID', '/s/ID/match/poll', '/s/ID/socket.io/?EIO=4&transport=polling']) {
      const known = await raw(t, 'GET', path.replace('ID', real));
      expect(known.status, path).not.toBe(404);
      const answers = await Promise.all([unknown, forged, foreign].map((id) => raw(t, 'GET', path.replace('ID', id))));
      for (const a of answers) {
        expect(a.status, path).toBe(404);
        expect(stable(a.head)).toBe(stable(answers[0].head));
        expect(a.body).toBe(answers[0].body);
      }
    }
    for (const path of ['/api/sessions/ID/monitor', '/api/sessions/ID/host', '/s/ID/echo']) {
      const heads = [];
      for (const id of [unknown, forged, foreign]) {
        const up = await rawUpgrade(t.port, path.replace('ID', id));
        await up.closed;
        heads.push(up.received().toString());
      }
      expect(heads[0], path).toMatch(/^HTTP\/1\.1 404/);
      expect(heads.map(stable)).toEqual([stable(heads[0]), stable(heads[0]), stable(heads[0])]);
    }
  });

  it('takes the route key from a trusted proxy only', async () => {
    const proxied = await raw(t, 'POST', '/api/sessions', { 'X-Session-Route': '0a1b2c3d', 'X-Forwarded-For': '192.0.2.1' });
    expect(proxied.status).toBe(201);
    expect(JSON.parse(proxied.body).id).toMatch(/^0a1b2c3d[A-Za-z0-9_-]{40}$/);
    const bad = await raw(t, 'POST', '/api/sessions', { 'X-Session-Route': '0a1b/c3d' });
    expect(JSON.parse(bad.body).id).not.toMatch(/^0a1b/);

    const direct = await startApp({}, { sessionSecrets: [SECRET] });
    try {
      const answer = await raw(direct, 'POST', '/api/sessions', { 'X-Session-Route': '0a1b2c3d' });
      expect(answer.status).toBe(201);
      expect(JSON.parse(answer.body).id.startsWith('0a1b2c3d')).toBe(false);
    } finally {
      await direct.close();
    }
  });
});

describe('a draining instance behind the load balancer', () => {
  it('sends a new session back with 307 (another route key), at most MAX_REROUTES times; 503 without a route key', async () => {
    const t = await startApp({}, { sessionSecrets: [SECRET], trustProxy: loopback });
    try {
      const id = await createSession(t);
      void t.app.drain(60_000);
      const reroutedBefore = sampleValue(parseExposition((await raw(t, 'GET', '/metrics')).body), 'atelier_sessions_rerouted_total') ?? 0;
      const first = await raw(t, 'POST', '/api/sessions?server=1', { 'X-Session-Route': '0a1b2c3d' });
      expect(first.status).toBe(307);
      expect(first.head).toMatch(/^location: \/api\/sessions\?server=1&reroute=1\r?$/im);
      const again = await raw(t, 'POST', `/api/sessions?server=1&reroute=${MAX_REROUTES - 1}`, { 'X-Session-Route': '0a1b2c3d' });
      expect(again.head).toMatch(new RegExp(`^location: /api/sessions\\?server=1&reroute=${MAX_REROUTES}\\r?$`, 'im'));
      const last = await raw(t, 'POST', `/api/sessions?server=1&reroute=${MAX_REROUTES}`, { 'X-Session-Route': '0a1b2c3d' });
      expect(last.status).toBe(503);
      // Two 307s, counted; the 503 is not.
      expect(sampleValue(parseExposition((await raw(t, 'GET', '/metrics')).body), 'atelier_sessions_rerouted_total')).toBe(
        reroutedBefore + 2,
      );
      const plain = await raw(t, 'POST', '/api/sessions');
      expect(plain.status).toBe(503);
      expect(JSON.parse(plain.body).error).toMatch(/redémarre/);
      // The session it had goes on.
      expect((await raw(t, 'GET', `/api/sessions/${id}`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
