// Socket.IO through the sandbox: polling then upgrade, eio/sio events, rooms, acks, binary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connectIo } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import { Monitor, createSession, startApp, within } from './test-helpers.ts';
import type { TestApp } from './test-helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t.close());

function client(id: string, nsp = '/', label?: string, opts: Record<string, unknown> = {}): Socket {
  return connectIo(`${t.http}${nsp}`, {
    path: `/s/${id}/socket.io/`,
    query: label ? { client: label } : {},
    reconnection: false,
    forceNew: true,
    ...opts,
  });
}

function connected(s: Socket): Promise<void> {
  return within(
    new Promise((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    }),
    5000,
    'socket.io connect',
  );
}

function upgraded(s: Socket): Promise<void> {
  return within(
    new Promise((resolve) => {
      if (s.io.engine.transport.name === 'websocket') resolve();
      else s.io.engine.once('upgrade', () => resolve());
    }),
    5000,
    'upgrade to websocket',
  );
}

describe('Socket.IO', () => {
  it('comment → thanks on /comments, polling then upgrade, eio and sio events on the monitor', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const s = client(id, '/comments', 'A');
    await connected(s);
    await upgraded(s);
    const thanks = within(new Promise<string>((r) => s.once('thanks', r)), 5000, 'thanks');
    s.emit('comment', { texte: 'Super cours' });
    expect(await thanks).toBe('Merci pour votre commentaire.');
    const open = await m.waitFor((e) => e.type === 'eio' && e.packet === 'open' && e.transport === 'polling');
    expect(open.sid).toEqual(expect.any(String));
    await m.waitFor((e) => e.type === 'eio' && e.packet === 'upgrade' && e.transport === 'websocket');
    const ev = await m.waitFor((e) => e.type === 'eio' && e.sio?.event === 'comment');
    expect(ev).toMatchObject({
      from: 'client',
      transport: 'websocket',
      sio: { nsp: '/comments', typeName: 'EVENT', data: ['comment', { texte: 'Super cours' }] },
    });
    await m.waitFor((e) => e.type === 'eio' && e.from === 'server' && e.sio?.event === 'thanks');
    const opens = m.of('conn-open');
    expect(opens.every((e) => e.path === 'socket.io/')).toBe(true);
    expect(opens.some((e) => e.client === 'A')).toBe(true);
    s.disconnect();
    m.close();
  });

  it('acknowledgements, rooms and `rooms` monitor events', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const a = client(id, '/', 'A', { transports: ['websocket'] });
    const b = client(id, '/', 'B');
    await Promise.all([connected(a), connected(b)]);
    const answer = await a.timeout(5000).emitWithAck('ask', 'Quelle heure ?');
    expect(answer).toMatch(/Quelle heure/);
    const ackEv = await m.waitFor((e) => e.type === 'eio' && e.sio?.typeName === 'ACK' && e.from === 'server');
    expect(ackEv.sio.id).toEqual(expect.any(Number));
    expect(await a.timeout(5000).emitWithAck('join', 'salon-1')).toEqual(expect.arrayContaining([a.id, 'salon-1']));
    expect(await b.timeout(5000).emitWithAck('join', 'salon-1')).toEqual(expect.arrayContaining([b.id, 'salon-1']));
    const heardByB = within(new Promise<any>((r) => b.once('said', r)), 5000, 'said on b');
    const heardByA = within(new Promise<any>((r) => a.once('said', r)), 5000, 'said on a');
    a.emit('say', { room: 'salon-1', text: 'bonjour le salon' });
    expect(await heardByB).toEqual({ room: 'salon-1', text: 'bonjour le salon', from: a.id });
    expect((await heardByA).text).toBe('bonjour le salon');
    const rooms = await m.waitFor((e) => e.type === 'rooms' && e.rooms['salon-1']?.length === 2);
    expect(rooms.nsp).toBe('/');
    expect(rooms.rooms['salon-1'].sort()).toEqual([a.id, b.id].sort());
    expect(rooms.rooms[a.id!]).toBeUndefined();
    expect(rooms.sockets[a.id!]).toEqual({ conn: expect.stringMatching(/^c\d+$/), client: 'A' });
    expect(rooms.sockets[b.id!].client).toBe('B');
    expect(await a.timeout(5000).emitWithAck('leave', 'salon-1')).toEqual([a.id]);
    await m.waitFor((e) => e.type === 'rooms' && e.rooms['salon-1']?.length === 1);
    expect(await b.timeout(5000).emitWithAck('rooms')).toEqual(expect.arrayContaining([b.id, 'salon-1']));
    a.disconnect();
    b.disconnect();
    m.close();
  });

  it('binary payloads are echoed as buffers, with attachments on the monitor', async () => {
    const id = await createSession(t);
    const m = await Monitor.open(t, id);
    const s = client(id, '/', undefined, { transports: ['websocket'] });
    await connected(s);
    const back = within(new Promise<Buffer>((r) => s.once('binary', r)), 5000, 'binary echo');
    s.emit('binary', Buffer.from([1, 2, 3, 255]));
    expect(Buffer.from(await back)).toEqual(Buffer.from([1, 2, 3, 255]));
    const ev = await m.waitFor((e) => e.type === 'eio' && e.from === 'client' && e.sio?.typeName === 'BINARY_EVENT');
    expect(ev.sio.attachments).toBe(1);
    await m.waitFor((e) => e.type === 'eio' && e.from === 'client' && e.binary === true && e.data === '010203ff');
    s.disconnect();
    m.close();
  });

  it('rooms never mix between sessions', async () => {
    const one = await createSession(t);
    const two = await createSession(t);
    const m2 = await Monitor.open(t, two);
    const a = client(one, '/', 'A', { transports: ['websocket'] });
    const b = client(two, '/', 'A', { transports: ['websocket'] });
    await Promise.all([connected(a), connected(b)]);
    await a.timeout(5000).emitWithAck('join', 'commun');
    await b.timeout(5000).emitWithAck('join', 'commun');
    let leaked = false;
    b.on('said', () => (leaked = true));
    const own = within(new Promise((r) => a.once('said', r)), 5000, 'said on a');
    a.emit('say', { room: 'commun', text: 'uniquement session un' });
    await own;
    await new Promise((r) => setTimeout(r, 100));
    expect(leaked).toBe(false);
    expect(JSON.stringify(m2.events)).not.toContain('uniquement session un');
    a.disconnect();
    b.disconnect();
    m2.close();
  });
});

describe('Socket.IO limits', () => {
  it('a polling body over the payload limit gets 413 and a limit event', async () => {
    const small = await startApp({ maxPayload: 200 });
    try {
      const id = await createSession(small);
      const m = await Monitor.open(small, id);
      const base = `${small.http}/s/${id}/socket.io/?EIO=4&transport=polling`;
      const open = await (await fetch(base)).text();
      const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
      const res = await fetch(`${base}&sid=${sid}`, {
        method: 'POST',
        body: `4${'x'.repeat(500)}`,
        headers: { 'Content-Type': 'text/plain' },
      });
      expect(res.status).toBe(413);
      const limit = await m.waitFor((e) => e.type === 'limit');
      expect(limit).toMatchObject({ limit: 'payload', action: 'http 413' });
      expect(limit.message).toContain('200 octets');
      m.close();
    } finally {
      await small.close();
    }
  });
});
