// The learner's Socket.IO server end to end on loopback: a real sandbox, a host channel, real
// socket.io-client clients. The bytes on the wire are the real socket.io server's (the sandbox's).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connectIo } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import type { SandboxToHost } from '#protocol/host';
import { openWs, sleep, startApp, within } from '../test-helpers.ts';
import type { TestApp } from '../test-helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t.close());

async function learnerSession(): Promise<{ id: string; secret: string }> {
  const res = await fetch(`${t.http}/api/sessions?server=1`, { method: 'POST', signal: AbortSignal.timeout(5000) });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { id: string; hostSecret: string };
  return { id: body.id, secret: body.hostSecret };
}

/** Waits until `check` holds (polled), at most `ms`. */
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  await within(
    (async () => {
      while (!check()) await sleep(5);
    })(),
    ms,
    what,
  );
}

function client(id: string, opts: Record<string, unknown> = {}, nsp = '/'): ClientSocket {
  return connectIo(`${t.http}${nsp}`, { path: `/s/${id}/socket.io/`, reconnection: false, forceNew: true, ...opts });
}

function connected(s: ClientSocket): Promise<void> {
  return within(
    new Promise((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    }),
    5000,
    'socket.io connect',
  );
}

describe('learner server: Socket.IO relay', () => {
  it('speaks the host protocol: io-auth → io-next, io-connection, io-event with ack → io-ack, io-emit', async () => {
    const { id, secret } = await learnerSession();
    const ws = await openWs(`${t.ws}/api/sessions/${id}/host`);
    const received: SandboxToHost[] = [];
    ws.on('message', (data) => received.push(JSON.parse(data.toString()) as SandboxToHost));
    const first = <T extends SandboxToHost['t']>(t: T) => received.find((m) => m.t === t) as Extract<SandboxToHost, { t: T }> | undefined;
    ws.send(JSON.stringify({ t: 'auth', secret }));
    await until(() => !!first('ready'), 'ready');
    ws.send(JSON.stringify({ t: 'io-attach', nsps: [], options: {} }));
    const s = client(id, { auth: { token: 'jeton' }, query: { client: 'A' } });
    await until(() => !!first('io-auth'), 'io-auth');
    const auth = first('io-auth') as Extract<SandboxToHost, { t: 'io-auth' }>;
    expect(auth).toMatchObject({ nsp: '/', transport: 'polling', handshake: { auth: { token: 'jeton' }, query: { client: 'A', EIO: '4' } } });
    expect(auth.handshake.url.startsWith('/socket.io/?')).toBe(true);
    ws.send(JSON.stringify({ t: 'io-next', s: auth.s }));
    await connected(s);
    expect(first('io-connection')).toMatchObject({ s: auth.s, id: s.id, nsp: '/' });

    const answer = s.timeout(5000).emitWithAck('question', 'combien ?', Buffer.from([7]));
    await until(() => !!first('io-event'), 'io-event');
    const event = first('io-event') as Extract<SandboxToHost, { t: 'io-event' }>;
    expect(event).toMatchObject({ s: auth.s, event: 'question', args: ['combien ?', { _b64: 'Bw==' }] });
    ws.send(JSON.stringify({ t: 'io-ack', s: auth.s, ack: event.ack, args: [42] }));
    expect(await answer).toBe(42);

    const hello = within(new Promise<unknown[]>((resolve) => s.once('hello', (...args: unknown[]) => resolve(args))), 5000, 'hello');
    ws.send(JSON.stringify({ t: 'io-emit', s: auth.s, event: 'hello', args: ['monde', { _b64: 'AQI=' }] }));
    const [text, bytes] = await hello;
    expect(text).toBe('monde');
    expect([...new Uint8Array(bytes as ArrayBuffer)]).toEqual([1, 2]);
    s.disconnect();
    await until(() => !!first('io-disconnect'), 'io-disconnect');
    expect(first('io-disconnect')).toMatchObject({ s: auth.s, reason: 'client namespace disconnect' });
    ws.close();
  });

  it('answers malformed Socket.IO commands with errors, not a crash', async () => {
    const { id, secret } = await learnerSession();
    const ws = await openWs(`${t.ws}/api/sessions/${id}/host`);
    const received: SandboxToHost[] = [];
    ws.on('message', (data) => received.push(JSON.parse(data.toString()) as SandboxToHost));
    ws.send(JSON.stringify({ t: 'auth', secret }));
    await until(() => received.some((m) => m.t === 'ready'), 'ready');
    const errors = () => received.flatMap((m) => (m.t === 'error' ? [m.id] : []));
    ws.send(JSON.stringify({ t: 'io-emit', s: 1, event: 'x', args: [] }));
    ws.send(JSON.stringify({ t: 'io-attach', nsps: [], options: {} }));
    ws.send(JSON.stringify({ t: 'io-emit', s: 1, event: 'connect', args: [] }));
    ws.send(JSON.stringify({ t: 'io-join', s: 1, rooms: 'salle' }));
    ws.send(JSON.stringify({ t: 'io-emit', s: 99_999, event: 'x', args: [] }));
    ws.send(JSON.stringify({ t: 'io-broadcast', nsp: '/', event: 'x', args: [{ _b64: '***' }] }));
    ws.send(JSON.stringify({ t: 'io-broadcast', nsp: '/nulle-part', event: 'x', args: [] }));
    ws.send(JSON.stringify({ args: [], t: 'io-nope' }));
    ws.send(JSON.stringify({ t: 'io-attach', nsps: [], options: {} }));
    await until(() => errors().length >= 8, 'eight errors');
    expect(errors()).toEqual([
      'HOST_ERR_NO_IO',
      'HOST_ERR_RESERVED_EVENT',
      'HOST_ERR_BAD_FIELD',
      'HOST_ERR_UNKNOWN_SOCKET',
      'HOST_ERR_BAD_FIELD',
      'HOST_ERR_BAD_FIELD',
      'HOST_ERR_UNKNOWN_COMMAND',
      'HOST_ERR_IO_ATTACHED',
    ]);
    // The real server still works: a client is asked to the host (io-auth), let in, and connected.
    const s = client(id);
    await until(() => received.some((m) => m.t === 'io-auth'), 'io-auth');
    const auth = received.find((m) => m.t === 'io-auth') as Extract<SandboxToHost, { t: 'io-auth' }>;
    ws.send(JSON.stringify({ t: 'io-next', s: auth.s }));
    await connected(s);
    s.disconnect();
    ws.close();
  });

});
