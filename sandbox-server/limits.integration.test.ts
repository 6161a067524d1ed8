// Limits and lifecycle on real sockets: payload, rate, sessions and connections, expiry, shutdown.
import { afterEach, describe, expect, it } from 'vitest';
import {
  Monitor,
  closed,
  createSession,
  openWs,
  rawConnection,
  receivedUntil,
  sleep,
  startApp,
  upgradeRequest,
  within,
} from './test-helpers.ts';
import type { TestApp } from './test-helpers.ts';
import { TokenBucket } from './limits.ts';
import { ABANDONED_MS } from './sessions.ts';

let t: TestApp | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

describe('limits', () => {
  it('token bucket: burst, then the refill rate', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(50)).toBe(false);
    expect(b.take(100)).toBe(true);
  });

  it('an oversized message closes with 1009 and emits a limit event', async () => {
    t = await startApp({ maxPayload: 1024 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    const done = closed(ws);
    ws.send(Buffer.alloc(2000, 1));
    expect((await done).code).toBe(1009);
    const limit = await m.waitFor((e) => e.type === 'limit');
    expect(limit).toMatchObject({ limit: 'payload', action: 'close 1009', conn: 'c1' });
    expect(limit.message).toMatch(/1024/);
    await m.waitFor((e) => e.type === 'frame' && e.from === 'server' && e.opcodeName === 'close' && e.code === 1009);
    m.close();
  });

  it('a message flood closes with 1008 and emits a limit event', async () => {
    t = await startApp({ messagesPerSecond: 5, messageBurst: 5 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    const done = closed(ws);
    for (let i = 0; i < 30; i++) ws.send(`m${i}`);
    expect((await done).code).toBe(1008);
    expect(await m.waitFor((e) => e.type === 'limit')).toMatchObject({ limit: 'rate', action: 'close 1008' });
    m.close();
  });

  it('too many sessions in use from one IP → 429 and a limit event on its sessions', async () => {
    t = await startApp({ maxSessionsPerIp: 2 });
    const first = await createSession(t);
    const second = await createSession(t);
    const m = await Monitor.open(t, first);
    const m2 = await Monitor.open(t, second);
    const res = await fetch(`${t.http}/api/sessions`, { method: 'POST' });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: string }).error).toMatch(/Trop de sessions/);
    expect(await m.waitFor((e) => e.type === 'limit')).toMatchObject({ limit: 'sessions', action: 'http 429' });
    m.close();
    m2.close();
  });

  it('at the limit, an abandoned session (no monitor, no connection, quiet) makes room', async () => {
    t = await startApp({ maxSessionsPerIp: 1 });
    const abandoned = await createSession(t);
    // Not yet quiet long enough: still refused (a page may be about to open its monitor).
    expect((await fetch(`${t.http}/api/sessions`, { method: 'POST' })).status).toBe(429);
    const session = t.app.sandbox.registry.get(abandoned)!;
    session.lastActivity -= ABANDONED_MS;
    const res = await fetch(`${t.http}/api/sessions`, { method: 'POST' });
    expect(res.status).toBe(201);
    expect(t.app.sandbox.registry.get(abandoned)).toBeUndefined();
    expect((await fetch(`${t.http}/api/sessions/${abandoned}`)).status).toBe(404);
  });

  it('too many connections in a session → upgrade refused with 429 and a limit event', async () => {
    t = await startApp({ maxConnectionsPerSession: 2 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const a = await openWs(`${t.ws}/s/${id}/echo`);
    const b = await openWs(`${t.ws}/s/${id}/echo`);
    await expect(openWs(`${t.ws}/s/${id}/echo`)).rejects.toThrow(/429/);
    expect(await m.waitFor((e) => e.type === 'limit')).toMatchObject({ limit: 'connections', action: 'http 429' });
    const aClosed = closed(a);
    a.close();
    await aClosed;
    await sleep(50);
    const c = await openWs(`${t.ws}/s/${id}/echo`);
    c.close();
    b.close();
    m.close();
  });

  it('too many fragments closes with 1008', async () => {
    t = await startApp({ maxFragments: 4 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    const done = closed(ws);
    for (let i = 0; i < 10; i++) ws.send('x', { fin: false });
    expect((await done).code).toBe(1008);
    const limit = await m.waitFor((e) => e.type === 'limit');
    expect(limit).toMatchObject({ limit: 'payload', action: 'close 1008' });
    expect(limit.message).toMatch(/trop de trames.*au plus 4 fragments/);
    m.close();
  });

  it('a frame arriving in too many TCP pieces closes with 1008, and the limit event says so', async () => {
    t = await startApp({ maxBufferedChunks: 4 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const { socket, received } = await rawConnection(t.port);
    socket.setNoDelay(true);
    socket.write(upgradeRequest(`/s/${id}/echo`));
    await receivedUntil(received, (b) => b.includes('\r\n\r\n'), '101');
    // A masked text frame of 100 bytes (zero mask), sent in pieces the server reads one by one.
    socket.write(Buffer.from([0x81, 0x80 | 100, 0, 0, 0, 0]));
    for (let i = 0; i < 10 && !socket.destroyed; i++) {
      await sleep(30);
      socket.write(Buffer.alloc(5, 0x61));
    }
    const limit = await m.waitFor((e) => e.type === 'limit');
    expect(limit).toMatchObject({ limit: 'payload', action: 'close 1008' });
    expect(limit.message).toMatch(/morceaux TCP.*au plus 4/);
    // The server's close frame: 0x88, length, code 1008.
    const bytes = received();
    const close = bytes.indexOf(Buffer.from([0x88]), bytes.indexOf('\r\n\r\n') + 4);
    expect(close).toBeGreaterThan(0);
    expect(bytes.readUInt16BE(close + 2)).toBe(1008);
    socket.destroy();
    m.close();
  });

  it('a slow or absent monitor gets a dropped event and seq stays increasing', async () => {
    t = await startApp({ monitorBacklog: 10 });
    const id = await createSession(t);
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    for (let i = 0; i < 20; i++) ws.send(`m${i}`);
    await within(
      new Promise<void>((r) => {
        let n = 0;
        ws.on('message', () => ++n === 20 && r());
      }),
      5000,
      'echoes',
    );
    const m = await Monitor.open(t, id);
    const dropped = await m.waitFor((e) => e.type === 'dropped');
    expect(dropped.count).toBeGreaterThan(0);
    await sleep(50);
    const seqs = m.events.map((e) => e.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
    expect(m.events[1].type).toBe('dropped');
    expect(m.events[2].seq).toBe(dropped.seq + 1);
    expect(m.events.length).toBeLessThanOrEqual(12);
    ws.close();
    m.close();
  });
});

describe('lifecycle', () => {
  it('idle sessions expire: end event "expired", sockets closed 1001, then 404', async () => {
    t = await startApp({ sessionIdleMs: 300 });
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    const done = closed(ws, 5000);
    expect(await m.waitFor((e) => e.type === 'end', 5000)).toMatchObject({ reason: 'expired' });
    expect((await done).code).toBe(1001);
    await within(new Promise<void>((r) => (m.closeCode !== null ? r() : m.ws.once('close', () => r()))), 5000, 'monitor close');
    expect(m.closeCode).toBe(1001);
    expect((await fetch(`${t.http}/api/sessions/${id}`)).status).toBe(404);
  });

  it('graceful shutdown: learner sockets get 1001, monitors an end event "shutdown"', async () => {
    t = await startApp();
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/match`);
    const done = closed(ws);
    const app = t;
    t = null;
    await within(app.close(), 5000, 'server close');
    expect((await done).code).toBe(1001);
    expect(m.events.at(-1)).toMatchObject({ type: 'end', reason: 'shutdown' });
    expect(m.closeCode).toBe(1001);
  });
});
