// Integration tests on real sockets: sessions, monitor contract, exact heads and frames, isolation.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  Monitor,
  closed,
  createSession,
  nextMessage,
  openWs,
  rawConnection,
  receivedUntil,
  sleep,
  startApp,
  upgradeRequest,
  within,
} from './test-helpers.ts';
import type { TestApp } from './test-helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t.close());

/** Reads from a raw socket until `done(buffer)` says so. */
function readUntil(socket: Socket, done: (b: Buffer) => boolean, ms = 5000): Promise<Buffer> {
  let buf = Buffer.alloc(0);
  return within(
    new Promise((resolve) => {
      const on = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (done(buf)) {
          socket.off('data', on);
          resolve(buf);
        }
      };
      socket.on('data', on);
    }),
    ms,
    'raw bytes',
  );
}

describe('sessions and monitor', () => {
  it('creates sessions with long unguessable ids', async () => {
    const a = await createSession(t);
    const b = await createSession(t);
    expect(a).toMatch(/^[A-Za-z0-9_-]{48}$/);
    expect(a).not.toBe(b);
    const info = await fetch(`${t.http}/api/sessions/${a}`);
    expect(info.status).toBe(200);
    expect(((await info.json()) as { id: string }).id).toBe(a);
    expect((await fetch(`${t.http}/api/sessions/${'x'.repeat(32)}`)).status).toBe(404);
    expect((await fetch(`${t.http}/s/${'x'.repeat(32)}/match/poll`)).status).toBe(404);
  });

  it('refuses monitors and scenarios of unknown sessions', async () => {
    await expect(openWs(`${t.ws}/api/sessions/${'y'.repeat(32)}/monitor`)).rejects.toThrow(/404/);
    await expect(openWs(`${t.ws}/s/${'y'.repeat(32)}/echo`)).rejects.toThrow(/404/);
  });

  it('sends hello first with the endpoints', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const hello = m.events[0];
    expect(hello).toMatchObject({
      type: 'hello',
      seq: 1,
      session: id,
      endpoints: { http: `${t.http}/s/${id}/`, ws: `${t.ws}/s/${id}/`, socketIoPath: `/s/${id}/socket.io/` },
    });
    expect(hello.scenarios).toEqual(expect.arrayContaining(['echo', 'echo-deflate', 'broadcast', 'match', 'control']));
    m.close();
  });

  it('shows the exact upgrade request, 101 response and a hand-masked frame', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const socket = connect(t.port, '127.0.0.1');
    await within(new Promise((r) => socket.once('connect', r)), 5000, 'connect');
    let received = 0;
    socket.on('data', (d: Buffer) => (received += d.length));
    const head =
      `GET /s/${id}/echo?client=B HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: nope, comments, chat';
    socket.write(head + '\r\n\r\n');
    const response = await readUntil(socket, (b) => b.includes('\r\n\r\n'));
    const responseHead = response.subarray(0, response.indexOf('\r\n\r\n')).toString('latin1');
    expect(responseHead).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(responseHead).toContain('Sec-WebSocket-Protocol: comments');

    // A masked text frame "Hi" with mask 01 02 03 04, split over two TCP writes.
    const payload = Buffer.from('Hi');
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
    socket.write(Buffer.from([0x81, 0x82, 1]));
    await sleep(20);
    socket.write(Buffer.concat([Buffer.from([2, 3, 4]), masked]));
    const echo = await readUntil(socket, (b) => b.length >= 4);
    expect(echo.subarray(0, 4)).toEqual(Buffer.from([0x81, 0x02, 0x48, 0x69]));

    const open = await m.waitFor((e) => e.type === 'conn-open');
    expect(open).toMatchObject({ client: 'B', path: 'echo' });
    expect(open.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    const conn = open.conn;
    const req = await m.waitFor((e) => e.type === 'http' && e.from === 'client');
    expect(req.head).toBe(head);
    expect(req.headLength).toBe(head.length + 4);
    const res = await m.waitFor((e) => e.type === 'http' && e.from === 'server');
    expect(res.head).toBe(responseHead);
    const cf = await m.waitFor((e) => e.type === 'frame' && e.from === 'client');
    expect(cf).toMatchObject({
      conn,
      fin: true,
      rsv1: false,
      opcode: 1,
      opcodeName: 'text',
      masked: true,
      maskKey: '01020304',
      length: 2,
      lengthForm: 7,
      header: '818201020304',
      payload: '4869',
      text: 'Hi',
    });
    const sf = await m.waitFor((e) => e.type === 'frame' && e.from === 'server');
    expect(sf).toMatchObject({ conn, masked: false, maskKey: null, header: '8102', payload: '4869', text: 'Hi' });
    // Wire order: request, 101, client frame, server frame.
    const order = m.events.filter((e) => e.conn === conn).map((e) => `${e.type}:${e.from ?? ''}`);
    // A message of one uncompressed frame is that frame's event, marked wholeMessage: no `message` event.
    expect(order.slice(0, 5)).toEqual(['conn-open:', 'http:client', 'http:server', 'frame:client', 'frame:server']);
    expect(m.events.filter((e) => e.type === 'frame' && e.conn === conn).map((e) => e.wholeMessage)).toEqual([true, true]);
    socket.destroy();
    const close = await m.waitFor((e) => e.type === 'conn-close' && e.conn === conn);
    expect(close.bytesIn).toBe(head.length + 4 + 3 + 3 + 2);
    expect(close.bytesOut).toBe(received);
    expect(close.reason).toMatch(/^(end|error: ECONNRESET)$/);
    m.close();
  });

  it('frames sent in the same write as the upgrade request are shown once', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const { socket, received } = await rawConnection(t.port);
    const head = upgradeRequest(`/s/${id}/echo`);
    // Two masked text frames ("Hi", "Yo") right after the head, in one TCP write.
    const frames = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x48 ^ 1, 0x69 ^ 2, 0x81, 0x82, 1, 2, 3, 4, 0x59 ^ 1, 0x6f ^ 2]);
    socket.write(Buffer.concat([Buffer.from(head), frames]));
    await receivedUntil(received, (b) => b.includes('Yo'), 'both echoes');
    await m.waitFor((e) => e.type === 'frame' && e.from === 'server' && e.text === 'Yo');
    const conn = (await m.waitFor((e) => e.type === 'conn-open')).conn;
    // Wire order: both client frames left before the first echo.
    expect(m.of('frame', conn).map((f) => `${f.from}:${f.text}`)).toEqual(['client:Hi', 'client:Yo', 'server:Hi', 'server:Yo']);
    socket.destroy();
    const close = await m.waitFor((e) => e.type === 'conn-close' && e.conn === conn);
    expect(close.bytesIn).toBe(head.length + frames.length);
    m.close();
  });

  it('echoes text and binary with their types; frames and messages both ways', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/echo?client=A`, ['chat']);
    expect(ws.protocol).toBe('chat');
    ws.send('bonjour');
    const a = await nextMessage(ws);
    expect(a).toEqual({ data: Buffer.from('bonjour'), isBinary: false });
    const bin = Buffer.from([0, 1, 2, 250, 255]);
    ws.send(bin);
    const b = await nextMessage(ws);
    expect(b.isBinary).toBe(true);
    expect(b.data).toEqual(bin);
    const big = 'x'.repeat(300);
    ws.send(big);
    await nextMessage(ws);
    const conn = (await m.waitFor((e) => e.type === 'conn-open')).conn;
    await m.waitFor((e) => e.type === 'message' && e.from === 'server' && e.length === 300);
    const frames = m.of('frame', conn);
    expect(frames.map((f) => [f.from, f.opcodeName, f.length])).toEqual([
      ['client', 'text', 7],
      ['server', 'text', 7],
      ['client', 'binary', 5],
      ['server', 'binary', 5],
      ['client', 'text', 300],
      ['server', 'text', 300],
    ]);
    expect(frames[2]).toMatchObject({ masked: true, payload: '000102faff' });
    expect(frames[3]).toMatchObject({ masked: false, payload: '000102faff', header: '8205' });
    expect(frames[4]).toMatchObject({ lengthForm: 16 });
    expect(frames[5].header).toBe('817e012c');
    const messages = m.of('message', conn);
    expect(messages[0]).toMatchObject({ from: 'client', opcode: 1, text: 'bonjour', frames: 1, compressed: false });
    expect(messages[3]).toMatchObject({ from: 'server', opcode: 2, data: '000102faff' });
    // seq strictly increasing from 1 (hello), t numbers.
    const seqs = m.events.map((e) => e.seq);
    expect(seqs[0]).toBe(1);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
    ws.close(1000, 'fini');
    expect((await closed(ws)).code).toBe(1000);
    const cf = await m.waitFor((e) => e.type === 'frame' && e.opcodeName === 'close' && e.from === 'client');
    expect(cf).toMatchObject({ code: 1000, reason: 'fini' });
    await m.waitFor((e) => e.type === 'conn-close' && e.conn === conn);
    m.close();
  });

  it('the replies to the messages of one TCP read leave in one socket write', async () => {
    const id = await createSession(t);
    const counts = { reads: 0, writes: 0 };
    t.app.server.once('upgrade', (req: IncomingMessage) => {
      const socket = req.socket as Socket & { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
      const { _write, _writev } = socket;
      socket._write = function (this: Socket, ...args: unknown[]) {
        counts.writes++;
        return _write.apply(this, args);
      };
      socket._writev = function (this: Socket, ...args: unknown[]) {
        counts.writes++;
        return _writev.apply(this, args);
      };
      socket.on('data', () => counts.reads++);
    });
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    await sleep(20);
    Object.assign(counts, { reads: 0, writes: 0 });
    const echoes: string[] = [];
    ws.on('message', (d) => echoes.push(d.toString()));
    // Five frames in one client write (usually one read on the server).
    const raw = (ws as unknown as { _socket: Socket })._socket;
    raw.cork();
    for (let i = 0; i < 5; i++) ws.send(`m${i}`);
    raw.uncork();
    await within(
      (async () => {
        while (echoes.length < 5) await sleep(5);
      })(),
      5000,
      'five echoes',
    );
    expect(echoes).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(counts.reads).toBeGreaterThan(0);
    expect(counts.writes).toBeLessThanOrEqual(counts.reads);
    ws.close();
  });

  it('a connection reset by the client is reported with its error', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const { socket, received } = await rawConnection(t.port);
    socket.write(upgradeRequest(`/s/${id}/echo`));
    await receivedUntil(received, (b) => b.includes('\r\n\r\n'), '101');
    const conn = (await m.waitFor((e) => e.type === 'conn-open')).conn;
    socket.resetAndDestroy();
    expect(await m.waitFor((e) => e.type === 'conn-close' && e.conn === conn)).toMatchObject({ reason: 'error: ECONNRESET' });
    m.close();
  });

  it('a client that resets right after a refused upgrade does not bring the server down', async () => {
    const id = await createSession(t);
    for (let i = 0; i < 20; i++) {
      const { socket } = await rawConnection(t.port);
      socket.write(upgradeRequest(`/s/${id}/nope`));
      if (i % 2) await sleep(1);
      socket.resetAndDestroy();
    }
    await sleep(50);
    expect((await fetch(`${t.http}/api/sessions`, { method: 'POST' })).status).toBe(201);
  });

  it('refuses unknown subprotocols and unknown scenarios', async () => {
    const id = await createSession(t);
    const ws = new WebSocket(`${t.ws}/s/${id}/echo`, ['other']);
    await expect(within(new Promise((_, rej) => ws.once('error', rej)), 5000, 'error')).rejects.toThrow(/subprotocol/i);
    await expect(openWs(`${t.ws}/s/${id}/nope`)).rejects.toThrow(/404/);
    const plain = await fetch(`${t.http}/s/${id}/echo`);
    expect(plain.status).toBe(426);
  });

  it('shows compressed frames (RSV1) on echo-deflate, with the inflated text', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/echo-deflate`, undefined, { perMessageDeflate: { threshold: 0 } });
    expect(ws.extensions).toContain('permessage-deflate');
    ws.send('compresse-moi compresse-moi compresse-moi');
    expect((await nextMessage(ws)).data.toString()).toBe('compresse-moi compresse-moi compresse-moi');
    const sf = await m.waitFor((e) => e.type === 'frame' && e.from === 'server' && e.opcode === 1);
    expect(sf.rsv1).toBe(true);
    const cf = m.of('frame').find((e) => e.from === 'client' && e.opcode === 1)!;
    expect(cf.rsv1).toBe(true);
    const msg = await m.waitFor((e) => e.type === 'message' && e.from === 'server');
    expect(msg).toMatchObject({ compressed: true, text: 'compresse-moi compresse-moi compresse-moi' });
    ws.close();
    m.close();
  });

  it('keeps sessions apart: a second monitor never sees the first session', async () => {
    const a = await createSession(t);
    const b = await createSession(t);
    const ma = await Monitor.open(t, a);
    const mb = await Monitor.open(t, b);
    const wa = await openWs(`${t.ws}/s/${a}/broadcast?client=A`);
    const wb = await openWs(`${t.ws}/s/${b}/broadcast?client=A`);
    const gotB: string[] = [];
    wb.on('message', (d) => gotB.push(d.toString()));
    wa.send('secret-de-a');
    expect((await nextMessage(wa)).data.toString()).toBe('secret-de-a');
    wb.send('message-de-b');
    await ma.waitFor((e) => e.type === 'message' && e.from === 'server');
    await mb.waitFor((e) => e.type === 'message' && e.from === 'server');
    await sleep(100);
    expect(JSON.stringify(mb.events)).not.toContain('secret-de-a');
    expect(JSON.stringify(mb.events)).not.toContain(a);
    expect(JSON.stringify(ma.events)).not.toContain('message-de-b');
    expect(gotB).toEqual(['message-de-b']);
    wa.close();
    wb.close();
    ma.close();
    mb.close();
  });

  it('lets an external client join a session; broadcast reaches every member, sender included', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const browser = await openWs(`${t.ws}/s/${id}/broadcast?client=A`);
    const external = await openWs(`${t.ws}/s/${id}/broadcast`, undefined, { origin: 'https://ailleurs.example' });
    const both = Promise.all([nextMessage(browser), nextMessage(external)]);
    external.send('depuis un terminal');
    const [x, y] = await both;
    expect(x.data.toString()).toBe('depuis un terminal');
    expect(y.data.toString()).toBe('depuis un terminal');
    const opens = m.of('conn-open');
    await m.waitFor((e) => e.type === 'conn-open' && e.client === null);
    expect(
      m
        .of('conn-open')
        .map((e) => e.client)
        .sort(),
    ).toEqual(['A', null].sort());
    expect(opens.length).toBeGreaterThan(0);
    browser.close();
    external.close();
    m.close();
  });

  it('?batch=1 (opt-in): every monitor message is a JSON array of events, hello first, seq increasing', async () => {
    const id = await createSession(t);
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    ws.send('avant');
    await nextMessage(ws);
    const raw: unknown[] = [];
    const m = await openWs(`${t.ws}/api/sessions/${id}/monitor?batch=1`, undefined, undefined, (d) => raw.push(JSON.parse(d.toString())));
    ws.send('pendant');
    await nextMessage(ws);
    const events = () => raw.flat() as Array<Record<string, any>>;
    await within(
      (async () => {
        while (!events().some((e) => e.type === 'frame' && e.from === 'server' && e.wholeMessage && e.text === 'pendant')) await sleep(10);
      })(),
      5000,
      'batched events',
    );
    expect(raw.every(Array.isArray)).toBe(true);
    expect(events()[0]).toMatchObject({ type: 'hello', seq: 1 });
    expect(events()[1]).toMatchObject({ type: 'conn-open', seq: 2 });
    const seqs = events().map((e) => e.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1] + 1);
    ws.close();
    m.close();
  });

  it('replays events sent before the monitor connected', async () => {
    const id = await createSession(t);
    const ws = await openWs(`${t.ws}/s/${id}/echo`);
    ws.send('avant');
    await nextMessage(ws);
    const m = await Monitor.open(t, id);
    await m.waitFor((e) => e.type === 'message' && e.text === 'avant');
    expect(m.events[1]).toMatchObject({ type: 'conn-open', seq: 2 });
    ws.close();
    m.close();
  });
});
