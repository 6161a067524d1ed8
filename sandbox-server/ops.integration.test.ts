// Operations on real sockets: TRUST_PROXY off and on (raw HTTP with forged forwarding headers),
// /healthz, /readyz, /metrics (the format, and figures that move), and the drain of an in-process
// server. The drain of main.ts as a process, and its logs: main.integration.test.ts.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseExposition, sampleValue } from './metrics-parse.ts';
import { forwardedView, isTrusted, parseTrustProxy } from './proxy.ts';
import type { TrustProxy } from './proxy.ts';
import { closed, createSession, Monitor, nextMessage, openWs, rawConnection, startApp, within } from './test-helpers.ts';
import type { TestApp } from './test-helpers.ts';

function trust(value: string, header?: string): TrustProxy {
  const t = parseTrustProxy(value, header);
  if (!t || t instanceof Error) throw new Error(`bad TRUST_PROXY ${value}`);
  return t;
}

interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/**
 * One HTTP/1.1 request on a new TCP connection, written by hand (any header, Host included);
 * resolves with the answer once the server closes the connection, or status 0 when it closed
 * without one (a connection refused at accept).
 */
async function raw(t: TestApp, method: string, path: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const { socket, received } = await rawConnection(t.port);
  const done = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${headers.Host ?? `127.0.0.1:${t.port}`}`, 'Connection: close', 'Content-Length: 0'];
  for (const [k, v] of Object.entries(headers)) if (k !== 'Host') lines.push(`${k}: ${v}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  await within(done, 5000, `answer to ${method} ${path}`);
  const text = received().toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, head: '', body: '' };
  const head = text.slice(0, end);
  let body = text.slice(end + 4);
  if (/^transfer-encoding: chunked/im.test(head)) body = body.replace(/^[0-9a-f]+\r\n|\r\n[0-9a-f]+\r\n|\r\n0\r\n\r\n$/gi, '');
  return { status: Number(head.split(' ')[1]), head, body };
}

async function post(t: TestApp, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return raw(t, 'POST', '/api/sessions', headers);
}

describe('TRUST_PROXY parsing', () => {
  it('takes addresses, CIDR blocks and loopback; refuses the rest', () => {
    const t = trust(' loopback, 10.0.0.0/8 ,2001:db8::/32, 192.0.2.7');
    expect(t.entries).toEqual(['loopback', '10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
    expect(['127.0.0.1', '::1', '::ffff:10.1.2.3', '2001:db8::42', '192.0.2.7'].map((a) => isTrusted(t, a))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['11.0.0.1', '192.0.2.8', '2001:db9::1', '', 'unknown'].map((a) => isTrusted(t, a))).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    for (const bad of ['proxy.example', '10.0.0.0/33', '10.0.0.0/x', '::1/129', '10.0.0.1/']) {
      expect(parseTrustProxy(bad), bad).toBeInstanceOf(Error);
    }
    expect(parseTrustProxy('loopback', 'via')).toBeInstanceOf(Error);
    expect(parseTrustProxy('')).toBeNull();
    expect(parseTrustProxy(undefined)).toBeNull();
  });
  it('finds the client from the right, past trusted proxies only', () => {
    const t = trust('loopback,10.0.0.0/8');
    const view = (h: Record<string, string>) => forwardedView(t, h, '127.0.0.1');
    expect(view({ 'x-forwarded-for': '203.0.113.9' }).ip).toBe('203.0.113.9');
    // A client writing its own X-Forwarded-For: the proxy appends the real address, which is read.
    expect(view({ 'x-forwarded-for': '198.51.100.1, 203.0.113.9' }).ip).toBe('203.0.113.9');
    // Trusted hops are skipped, an untrusted one is the client even if an address left of it looks nicer.
    expect(view({ 'x-forwarded-for': '198.51.100.1, 203.0.113.9, 10.1.1.1' }).ip).toBe('203.0.113.9');
    expect(view({ 'x-forwarded-for': '[2001:db8::7]:4711, 203.0.113.9:5000' }).ip).toBe('203.0.113.9');
    expect(view({ 'x-forwarded-for': '::ffff:203.0.113.9' }).ip).toBe('203.0.113.9');
    // Unreadable: the walk stops, the nearest readable hop stands.
    expect(view({ 'x-forwarded-for': 'n’importe quoi' }).ip).toBe('127.0.0.1');
    expect(view({ 'x-forwarded-for': 'junk, 10.0.0.5' }).ip).toBe('10.0.0.5');
    expect(view({}).ip).toBe('127.0.0.1');
    // Proto and host: one value, or the client's hop when every proxy appended.
    expect(view({ 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'atelier.example' })).toEqual({
      ip: '203.0.113.9',
      proto: 'https',
      host: 'atelier.example',
    });
    expect(view({ 'x-forwarded-for': '203.0.113.9, 10.0.0.2', 'x-forwarded-proto': 'https, http' }).proto).toBe('https');
    expect(view({ 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'a b' })).toEqual({
      ip: '127.0.0.1',
      proto: undefined,
      host: undefined,
    });
  });
  it('reads RFC 7239 Forwarded elements, quoted values and obfuscated nodes', () => {
    const t = trust('loopback,10.0.0.0/8', 'forwarded');
    const view = (h: Record<string, string>) => forwardedView(t, h, '127.0.0.1');
    expect(
      view({
        forwarded:
          'for=198.51.100.1;host=evil.example, for="[2001:db8:cafe::17]:4711";proto=https;host="atelier.example", for=10.0.0.3;proto=http',
      }),
    ).toEqual({ ip: '2001:db8:cafe::17', proto: 'https', host: 'atelier.example' });
    expect(view({ forwarded: 'For="_gazonk";Proto=HTTPS' })).toEqual({ ip: '_gazonk', proto: 'https', host: undefined });
    expect(view({ forwarded: 'for=unknown' }).ip).toBe('unknown');
    expect(view({ forwarded: 'for="198.51.100.1, evil";proto=https' }).ip).toBe('127.0.0.1');
    // In this mode X-Forwarded-For is someone else's header.
    expect(view({ 'x-forwarded-for': '203.0.113.9' }).ip).toBe('127.0.0.1');
  });
});

describe('TRUST_PROXY unset: forwarding headers are ignored', () => {
  it('counts sessions per socket address and builds URLs from Host', async () => {
    const t = await startApp({ maxSessionsPerIp: 2 });
    try {
      expect((await post(t, { 'X-Forwarded-For': '203.0.113.1' })).status).toBe(201);
      expect((await post(t, { Forwarded: 'for=203.0.113.2' })).status).toBe(201);
      const third = await post(t, { 'X-Forwarded-For': '203.0.113.3', Forwarded: 'for=203.0.113.3' });
      expect(third.status).toBe(429);
      expect(JSON.parse(third.body).error).toContain('Trop de sessions');

      const t2 = await startApp();
      try {
        const id = await createSession(t2);
        const forged = {
          'X-Forwarded-Proto': 'https',
          'X-Forwarded-Host': 'atelier.example',
          Forwarded: 'proto=https;host=atelier.example',
        };
        const info = await raw(t2, 'GET', `/api/sessions/${id}`, forged);
        expect(JSON.parse(info.body).endpoints.ws).toBe(`ws://127.0.0.1:${t2.port}/s/${id}/`);
        const hello = await helloWith(t2, id, forged);
        expect(hello.endpoints).toMatchObject({ http: `http://127.0.0.1:${t2.port}/s/${id}/`, ws: `ws://127.0.0.1:${t2.port}/s/${id}/` });
      } finally {
        await t2.close();
      }
    } finally {
      await t.close();
    }
  });
  it('also when the proxy list does not hold the peer', async () => {
    const t = await startApp({ maxSessionsPerIp: 1 }, { trustProxy: trust('10.0.0.1,192.168.0.0/16') });
    try {
      expect((await post(t, { 'X-Forwarded-For': '203.0.113.1' })).status).toBe(201);
      expect((await post(t, { 'X-Forwarded-For': '203.0.113.2' })).status).toBe(429);
      const id = await createSession(t).catch(() => null);
      expect(id).toBeNull();
    } finally {
      await t.close();
    }
  });
});

/** The hello a monitor opened with `headers` gets. */
async function helloWith(t: TestApp, id: string, headers: Record<string, string>): Promise<any> {
  const ws = new WebSocket(`${t.ws}/api/sessions/${id}/monitor`, { headers });
  try {
    const { data } = await nextMessage(ws);
    return JSON.parse(data.toString());
  } finally {
    ws.terminate();
  }
}

describe('TRUST_PROXY=loopback: the proxy names the client', () => {
  it('counts sessions per forwarded client, and a forged left part does not help', async () => {
    const t = await startApp({ maxSessionsPerIp: 2 }, { trustProxy: trust('loopback') });
    try {
      const a = { 'X-Forwarded-For': '203.0.113.1' };
      expect((await post(t, a)).status).toBe(201);
      expect((await post(t, a)).status).toBe(201);
      expect((await post(t, a)).status).toBe(429);
      // What a client writes itself stays left of the address the proxy appends.
      expect((await post(t, { 'X-Forwarded-For': '203.0.113.50, 203.0.113.1' })).status).toBe(429);
      expect((await post(t, { 'X-Forwarded-For': '203.0.113.2' })).status).toBe(201);
      expect((await post(t, { 'X-Forwarded-For': '203.0.113.1, 203.0.113.2' })).status).toBe(201);
      expect((await post(t, { 'X-Forwarded-For': '203.0.113.2' })).status).toBe(429);
    } finally {
      await t.close();
    }
  });
  it('gives the page wss:// URLs on the public host (session info, monitor hello)', async () => {
    const t = await startApp({}, { trustProxy: trust('loopback') });
    try {
      const id = JSON.parse((await post(t, { 'X-Forwarded-For': '203.0.113.1' })).body).id as string;
      const headers = { 'X-Forwarded-For': '203.0.113.1', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'atelier.example' };
      const info = JSON.parse((await raw(t, 'GET', `/api/sessions/${id}`, headers)).body);
      expect(info.endpoints).toEqual({
        http: `https://atelier.example/s/${id}/`,
        ws: `wss://atelier.example/s/${id}/`,
        socketIoPath: `/s/${id}/socket.io/`,
      });
      const hello = await helloWith(t, id, headers);
      expect(hello.endpoints.ws).toBe(`wss://atelier.example/s/${id}/`);
      // Without the headers (a direct client on loopback), the socket's own view.
      expect((await helloWith(t, id, {})).endpoints.ws).toBe(`ws://127.0.0.1:${t.port}/s/${id}/`);
    } finally {
      await t.close();
    }
  });
  it('reads Forwarded instead when told to, and then ignores X-Forwarded-*', async () => {
    const t = await startApp({ maxSessionsPerIp: 1 }, { trustProxy: trust('loopback', 'forwarded') });
    try {
      const first = await post(t, { Forwarded: 'for=198.51.100.7;proto=https;host=atelier.example' });
      expect(first.status).toBe(201);
      expect((await post(t, { Forwarded: 'for=198.51.100.7', 'X-Forwarded-For': '203.0.113.9' })).status).toBe(429);
      expect((await post(t, { Forwarded: 'for="[2001:db8::1]:443"' })).status).toBe(201);
      const id = JSON.parse(first.body).id as string;
      const hello = await helloWith(t, id, { Forwarded: 'for=198.51.100.7;proto=https;host=atelier.example' });
      expect(hello.endpoints.ws).toBe(`wss://atelier.example/s/${id}/`);
      const xf = await helloWith(t, id, { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example' });
      expect(xf.endpoints.ws).toBe(`ws://127.0.0.1:${t.port}/s/${id}/`);
    } finally {
      await t.close();
    }
  });
  it('charges the per-IP rate to each forwarded client, not to the proxy', async () => {
    const limits = { ipConnectionsPerSecond: 1, ipConnectionBurst: 3 };
    // Without trust, the 4th connection from 127.0.0.1 within the second is closed unread.
    const direct = await startApp(limits);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await raw(direct, 'GET', '/healthz', { 'X-Forwarded-For': `203.0.113.${i}` })).status);
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.slice(3)).toEqual([0, 0]);
    } finally {
      await direct.close();
    }
    const t = await startApp(limits, { trustProxy: trust('loopback') });
    try {
      const as = async (ip: string) => (await raw(t, 'GET', '/healthz', { 'X-Forwarded-For': ip })).status;
      const a: number[] = [];
      for (let i = 0; i < 5; i++) a.push(await as('203.0.113.1'));
      expect(a).toEqual([200, 200, 200, 429, 429]);
      expect(await as('203.0.113.2')).toBe(200);
      // An upgrade is charged the same way.
      const ws = new WebSocket(`${t.ws}/api/sessions/nope/monitor`, { headers: { 'X-Forwarded-For': '203.0.113.1' } });
      const status = await within(
        new Promise<number>((r) => ws.once('unexpected-response', (_q, res) => r(res.statusCode ?? 0))),
        5000,
        'refusal',
      );
      expect(status).toBe(429);
    } finally {
      await t.close();
    }
  });
});

async function metrics(t: TestApp) {
  const res = await fetch(`${t.http}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await res.text());
}

describe('health, readiness and metrics', () => {
  it('answers /healthz and /readyz, GET and HEAD only', async () => {
    const t = await startApp();
    try {
      const health = await fetch(`${t.http}/healthz`);
      expect([health.status, await health.text(), health.headers.get('cache-control')]).toEqual([200, 'ok\n', 'no-store']);
      expect((await fetch(`${t.http}/healthz`, { method: 'HEAD' })).status).toBe(200);
      expect((await fetch(`${t.http}/readyz`)).status).toBe(200);
      expect((await fetch(`${t.http}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await t.close();
    }
  });
  it('is not ready over the memory budget', async () => {
    const t = await startApp({ memoryBudget: 1 });
    try {
      const res = await fetch(`${t.http}/readyz`);
      expect([res.status, await res.text()]).toEqual([503, 'memory\n']);
      expect((await fetch(`${t.http}/healthz`)).status).toBe(200);
      expect(sampleValue(await metrics(t), 'atelier_ready')).toBe(0);
    } finally {
      await t.close();
    }
  });
  it('serves figures that move with sessions, connections, events and limit hits', async () => {
    const t = await startApp({ maxSessionsPerIp: 1 });
    try {
      const m0 = await metrics(t);
      expect(sampleValue(m0, 'atelier_sessions')).toBe(0);
      expect(sampleValue(m0, 'atelier_ready')).toBe(1);
      const id = await createSession(t);
      const monitor = await Monitor.open(t, id);
      const ws = await openWs(`${t.ws}/s/${id}/echo`);
      ws.send('bonjour');
      await nextMessage(ws);
      await monitor.waitFor((e) => e.type === 'frame' && e.from === 'server');
      expect((await post(t)).status).toBe(429);
      const m1 = await metrics(t);
      expect(sampleValue(m1, 'atelier_sessions')).toBe(1);
      expect(sampleValue(m1, 'atelier_sessions_created_total')).toBe((sampleValue(m0, 'atelier_sessions_created_total') ?? Number.NaN) + 1);
      expect(sampleValue(m1, 'atelier_connections', { kind: 'monitor' })).toBe(1);
      expect(sampleValue(m1, 'atelier_connections', { kind: 'websocket' })).toBe(1);
      expect(sampleValue(m1, 'atelier_connections', { kind: 'learner' })).toBe(1);
      // The monitor, the learner socket, and this scrape's own connection at least.
      expect(sampleValue(m1, 'atelier_connections', { kind: 'tcp' })).toBeGreaterThanOrEqual(3);
      // conn-open, two http heads, two frames at least.
      expect(
        (sampleValue(m1, 'atelier_monitor_events_total') ?? 0) - (sampleValue(m0, 'atelier_monitor_events_total') ?? 0),
      ).toBeGreaterThanOrEqual(5);
      expect(sampleValue(m1, 'atelier_limit_hits_total', { limit: 'sessions' })).toBe(
        (sampleValue(m0, 'atelier_limit_hits_total', { limit: 'sessions' }) ?? Number.NaN) + 1,
      );
      expect(sampleValue(m1, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      // The per-second figures come from a sampler that ticks every second.
      await new Promise((r) => setTimeout(r, 1100));
      expect(sampleValue(await metrics(t), 'atelier_monitor_events_per_second')).toBeGreaterThan(0);
      ws.close();
      monitor.close();
    } finally {
      await t.close();
    }
  });
});

describe('drain (in-process)', () => {
  it('refuses new sessions, fails readiness, tells the monitors, keeps sessions working, then ends with idle or grace', async () => {
    const t = await startApp();
    try {
      const id = await createSession(t);
      const monitor = await Monitor.open(t, id);
      const ws = await openWs(`${t.ws}/s/${id}/echo`);
      const drained = t.app.drain(1500);
      const notice = await monitor.waitFor((e) => e.type === 'draining');
      expect(notice.graceMs).toBe(1500);
      const refused = await post(t);
      expect(refused.status).toBe(503);
      expect(refused.head).toMatch(/^retry-after: \d+/im);
      expect(JSON.parse(refused.body).error).toBe('Le bac à sable redémarre\u00a0: réessayez dans une minute.');
      const ready = await fetch(`${t.http}/readyz`);
      expect([ready.status, await ready.text()]).toEqual([503, 'draining\n']);
      expect(sampleValue(await metrics(t), 'atelier_draining')).toBe(1);
      // The session still works.
      ws.send('encore là');
      expect((await nextMessage(ws)).data.toString()).toBe('encore là');
      expect(await within(drained, 5000, 'drain')).toBe('grace');
      const wsClosed = closed(ws);
      await t.close();
      expect((await wsClosed).code).toBe(1001);
      expect(monitor.events.at(-1)).toMatchObject({ type: 'end', reason: 'shutdown' });
    } finally {
      await t.close();
    }
  });
  it('ends early when no session has a connection or a monitor', async () => {
    const t = await startApp();
    try {
      await createSession(t);
      const started = Date.now();
      expect(await within(t.app.drain(60_000), 5000, 'drain')).toBe('idle');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await t.close();
    }
  });
});
