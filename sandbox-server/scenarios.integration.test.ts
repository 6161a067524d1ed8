// Integration tests of the control and match scenarios (WebSocket, long polling, SSE).
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Monitor, closed, createSession, nextMessage, openWs, sleep, startApp, within } from './test-helpers.ts';
import type { TestApp } from './test-helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ matchIntervalMin: 20 });
});
afterAll(() => t.close());

describe('control', () => {
  it('ping: server ping with the payload, client pong, info event', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/control`);
    const ping = within(new Promise<Buffer>((r) => ws.once('ping', r)), 5000, 'ping');
    ws.send(JSON.stringify({ cmd: 'ping', payload: 'abc' }));
    expect((await ping).toString()).toBe('abc');
    await m.waitFor((e) => e.type === 'info' && /ping/.test(e.message) && e.conn === 'c1');
    const sp = await m.waitFor((e) => e.type === 'frame' && e.from === 'server' && e.opcodeName === 'ping');
    expect(sp).toMatchObject({ payload: '616263', fin: true, masked: false });
    const cp = await m.waitFor((e) => e.type === 'frame' && e.from === 'client' && e.opcodeName === 'pong');
    expect(cp).toMatchObject({ payload: '616263', masked: true });
    ws.close();
    m.close();
  });

  it('fragment: one text message in 3 frames, FIN only on the last', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/control`);
    ws.send(JSON.stringify({ cmd: 'fragment', text: 'bonjour le monde', frames: 3 }));
    expect((await nextMessage(ws)).data.toString()).toBe('bonjour le monde');
    const msg = await m.waitFor((e) => e.type === 'message' && e.from === 'server');
    expect(msg).toMatchObject({ frames: 3, text: 'bonjour le monde', opcode: 1 });
    const frames = m.of('frame').filter((f) => f.from === 'server');
    expect(frames.map((f) => [f.opcodeName, f.fin])).toEqual([
      ['text', false],
      ['continuation', false],
      ['continuation', true],
    ]);
    expect(frames.map((f) => f.text).join('')).toBe('bonjour le monde');
    ws.close();
    m.close();
  });

  it('fragment with split "bytes": a frame may end inside a character, the message stays whole', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/control`);
    // 'Salut 😀' is 10 bytes: 4 + 3 + 3, the second cut falls after f0 9f 98, inside the emoji.
    ws.send(JSON.stringify({ cmd: 'fragment', text: 'Salut 😀', frames: 3, split: 'bytes' }));
    expect((await nextMessage(ws)).data.toString()).toBe('Salut 😀');
    const msg = await m.waitFor((e) => e.type === 'message' && e.from === 'server');
    expect(msg).toMatchObject({ frames: 3, text: 'Salut 😀', opcode: 1 });
    const frames = m.of('frame').filter((f) => f.from === 'server');
    expect(frames.map((f) => f.payload)).toEqual(['53616c75', '7420f0', '9f9880']);
    expect(m.of('violation')).toEqual([]);
    // Without split, the cuts respect the characters; a bad split value is refused.
    ws.send(JSON.stringify({ cmd: 'fragment', text: 'Salut 😀', frames: 3 }));
    await nextMessage(ws);
    ws.send(JSON.stringify({ cmd: 'fragment', text: 'x', frames: 1, split: 'octets' }));
    expect(JSON.parse((await nextMessage(ws)).data.toString()).error).toMatch(/split/);
    const all = m.of('frame').filter((f) => f.from === 'server' && f.opcode <= 2);
    expect(all.slice(3, 6).map((f) => f.payload)).toEqual(['5361', '6c75', '7420f09f9880']);
    ws.close();
    m.close();
  });

  it('binary: a binary message of the asked size (16-bit length form)', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/control`);
    ws.send(JSON.stringify({ cmd: 'binary', size: 300 }));
    const got = await nextMessage(ws);
    expect(got.isBinary).toBe(true);
    expect(got.data.length).toBe(300);
    expect(got.data[299]).toBe(299 & 0xff);
    const f = await m.waitFor((e) => e.type === 'frame' && e.from === 'server' && e.opcodeName === 'binary');
    expect(f).toMatchObject({ length: 300, lengthForm: 16, header: '827e012c' });
    ws.close();
    m.close();
  });

  it('close: code 4001 and reason reach the client', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/control`);
    const done = closed(ws);
    ws.send(JSON.stringify({ cmd: 'close', code: 4001, reason: 'au revoir' }));
    expect(await done).toEqual({ code: 4001, reason: 'au revoir' });
    const f = await m.waitFor((e) => e.type === 'frame' && e.from === 'server' && e.opcodeName === 'close');
    expect(f).toMatchObject({ code: 4001, reason: 'au revoir' });
    m.close();
  });

  it('drop: TCP destroyed without close frame, the client sees 1006', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/control`);
    const done = closed(ws);
    ws.send(JSON.stringify({ cmd: 'drop' }));
    expect((await done).code).toBe(1006);
    await m.waitFor((e) => e.type === 'conn-close');
    expect(m.of('frame').some((f) => f.opcodeName === 'close')).toBe(false);
    expect(m.of('info').some((e) => /1006/.test(e.message))).toBe(true);
    m.close();
  });

  it('drop after other commands of the same read: their frames still leave before the cut', async () => {
    const id = await createSession(t);
    const ws = await openWs(`${t.ws}/s/${id}/control`);
    const ping = within(new Promise<Buffer>((r) => ws.once('ping', r)), 5000, 'ping');
    const done = closed(ws);
    // Both commands in one TCP write: the server handles them in one read.
    const raw = (ws as unknown as { _socket: Socket })._socket;
    raw.cork();
    ws.send(JSON.stringify({ cmd: 'ping', payload: 'avant' }));
    ws.send(JSON.stringify({ cmd: 'drop' }));
    raw.uncork();
    expect((await ping).toString()).toBe('avant');
    expect((await done).code).toBe(1006);
  });

  it('bad commands get a French error and an info event', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const ws = await openWs(`${t.ws}/s/${id}/control`);
    for (const bad of ['pas du json', JSON.stringify({ cmd: 'danse' }), JSON.stringify({ cmd: 'close', code: 1005 })]) {
      ws.send(bad);
      const reply = JSON.parse((await nextMessage(ws)).data.toString());
      expect(reply.error).toEqual(expect.any(String));
    }
    await m.waitFor((e) => e.type === 'info' && /danse/.test(e.message));
    await m.waitFor((e) => e.type === 'info' && /3000/.test(e.message));
    expect(m.of('info').filter((e) => /refusée/.test(e.message))).toHaveLength(3);
    ws.close();
    m.close();
  });
});

describe('match', () => {
  it('WebSocket: snapshot then events at the asked interval', async () => {
    const id = await createSession(t);
    const got: any[] = [];
    const ws = await openWs(`${t.ws}/s/${id}/match?interval=30`, undefined, undefined, (d) => got.push(JSON.parse(d.toString())));
    await within(
      new Promise<void>((r) => {
        const iv = setInterval(() => got.length >= 4 && (clearInterval(iv), r()), 10);
      }),
      5000,
      '4 match messages',
    );
    expect(got[0]).toMatchObject({ type: 'snapshot', home: expect.any(String), n: expect.any(Number) });
    expect(got[1]).toMatchObject({ type: 'event', n: got[0].n + 1, minute: expect.any(Number) });
    expect(got[2].n).toBe(got[1].n + 1);
    ws.close();
  });

  it('polling: snapshot, and long polling answers with the next event', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const snap = await fetch(`${t.http}/s/${id}/match/poll`);
    expect(snap.status).toBe(200);
    expect(snap.headers.get('access-control-allow-origin')).toBe('*');
    const first = (await snap.json()) as { n: number };
    const started = Date.now();
    const next = await fetch(`${t.http}/s/${id}/match/poll?wait=1&interval=100`, { signal: AbortSignal.timeout(5000) });
    expect(next.status).toBe(200);
    const body = (await next.json()) as { n: number; events: { n: number }[] };
    expect(body.n).toBe(first.n + 1);
    expect(body.events[0].n).toBe(first.n + 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    const res = await m.waitFor(
      (e) => e.type === 'http' && e.from === 'server' && /^HTTP\/1\.1 200/.test(e.head) && /"events":\[\{/.test(e.body ?? ''),
    );
    expect(res.bodyLength).toBeGreaterThan(0);
    expect(m.of('http').some((e) => e.from === 'client' && e.head.startsWith(`GET /s/${id}/match/poll?wait=1`))).toBe(true);
    m.close();
  });

  it('long polls on one keep-alive connection leave no listener behind on its socket', async () => {
    const id = await createSession(t);
    const sockets: Socket[] = [];
    const onConnection = (s: Socket) => sockets.push(s);
    t.app.server.on('connection', onConnection);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const poll = () =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${t.http}/s/${id}/match/poll?wait=1&interval=50`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    const closeListeners: number[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        expect(await within(poll(), 5000, 'long poll')).toBe(200);
        await sleep(20);
        closeListeners.push(sockets[0].listenerCount('close'));
      }
    } finally {
      t.app.server.off('connection', onConnection);
      agent.destroy();
    }
    expect(sockets).toHaveLength(1);
    expect(closeListeners[3]).toBe(closeListeners[0]);
  });

  it('SSE: text/event-stream with match events, shown as http-body events', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const text = await within(
      new Promise<string>((resolve, reject) => {
        const req = request(`${t.http}/s/${id}/match/events?interval=30`, (res) => {
          expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            buf += d;
            if ((buf.match(/event: match/g) ?? []).length >= 2) {
              req.destroy();
              resolve(buf);
            }
          });
        });
        req.on('error', reject);
        req.end();
      }),
      5000,
      'two SSE events',
    );
    expect(text).toMatch(/^retry: 3000\nevent: snapshot\ndata: \{/);
    expect(text).toMatch(/id: \d+\nevent: match\ndata: \{"n":\d+/);
    await m.waitFor((e) => e.type === 'http' && e.from === 'server' && /text\/event-stream/.test(e.head));
    await m.waitFor((e) => e.type === 'http-body' && e.from === 'server' && /event: match/.test(e.text));
    m.close();
  });

  it('SSE: a reconnection with Last-Event-ID gets the remembered events after that id first', async () => {
    const id = await createSession(t);
    const read = (headers: Record<string, string>, until: (buf: string) => boolean) =>
      within(
        new Promise<string>((resolve, reject) => {
          const req = request(`${t.http}/s/${id}/match/events?interval=30`, { headers }, (res) => {
            let buf = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => {
              buf += d;
              if (until(buf)) {
                req.destroy();
                resolve(buf);
              }
            });
          });
          req.on('error', reject);
          req.end();
        }),
        5000,
        'SSE events',
      );
    const ids = (buf: string) => [...buf.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    // A third listener keeps the feed ticking (it only ticks while someone listens) during the gap.
    const keeper = request(`${t.http}/s/${id}/match/events?interval=30`, (res) => res.resume());
    keeper.on('error', () => {});
    keeper.end();
    try {
      // Five events, then the stream is left; about ten more ticks happen before the reconnection.
      const first = await read({}, (buf) => ids(buf).length >= 5);
      const last = ids(first).at(-1) as number;
      await sleep(300);
      const second = await read({ 'Last-Event-ID': String(last) }, (buf) => ids(buf).length >= 3);
      const got = ids(second);
      // The replayed events come at once, in order, from last + 1 on: none is lost, none repeated.
      expect(got[0]).toBe(last + 1);
      expect(got).toEqual(got.map((_, i) => last + 1 + i));
      // Without the header (or with a value that is not a number), no replay: the first id is the next tick's.
      const fresh = await read({ 'Last-Event-ID': 'abc' }, (buf) => ids(buf).length >= 1);
      expect(fresh).toMatch(/^retry: 3000\nevent: snapshot\ndata: \{/);
      const snapshot = JSON.parse(/^data: (.*)$/m.exec(fresh)?.[1] ?? '{}') as { n: number };
      expect(snapshot.n).toBeGreaterThan(last + 3);
      expect(ids(fresh)[0]).toBe(snapshot.n + 1);
    } finally {
      keeper.destroy();
    }
  });
});
