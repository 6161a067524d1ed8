// The learner's Socket.IO server end to end on loopback: a real sandbox, a host channel driven by
// the façade runtime the browser Worker loads (run in Node here), real socket.io-client clients.
// The bytes on the wire are the real socket.io server's (the sandbox's), as the monitor shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connectIo } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import { hostFrameMessages, IO_MAX_ROOMS_PER_SOCKET } from '#protocol/host';
import type { SandboxToHost } from '#protocol/host';
import { MAX_ROOMS_PER_SOCKET } from '../scenarios/socket-io.ts';
import { runServerCode } from '../../site/scripts/playground/server-runtime/run.ts';
import { Monitor, openWs, sleep, startApp, within } from '../test-helpers.ts';
import type { TestApp } from '../test-helpers.ts';
import { learnerSession as learnerSessionOf, openHost, until } from './test-host.ts';
import type { Host } from './test-host.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t.close());

const learnerSession = () => learnerSessionOf(t);

/** Opens the host channel, authenticates, runs `code`, and waits for the real server (io-attach done). */
async function host(id: string, secret: string, code: string): Promise<Host> {
  const h = await openHost(t, id, secret);
  const { link } = h;
  runServerCode(code, link);
  // The façade declares its server once the http server listens (next turn); one polling GET
  // answered by the real server tells that the sandbox created it.
  await until(() => link.io !== null, 'io-attach sent');
  await within(
    (async () => {
      for (;;) {
        const res = await fetch(`${t.http}/s/${id}/socket.io/?EIO=4&transport=polling`, {
          method: 'OPTIONS',
          signal: AbortSignal.timeout(5000),
        });
        await res.arrayBuffer();
        // Before io-attach is run, the request reaches the façade's server, which answers 503.
        if (res.status !== 503) return;
        await sleep(10);
      }
    })(),
    5000,
    'real Socket.IO server',
  );
  return h;
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

function next<T = unknown>(s: ClientSocket, event: string, ms = 5000): Promise<T> {
  return within(new Promise<T>((resolve) => s.once(event, (value: T) => resolve(value))), ms, `client event ${event}`);
}

const GUIDE = `
const http = require('http');
const server = http.createServer();
const io = require('socket.io')(server);
io.use((socket, next) => {
  if (socket.handshake.auth.token === 'secret') return next();
  const err = new Error('interdit');
  err.data = { code: 42, aide: 'jeton attendu' };
  next(err);
});
io.on('connection', (socket) => {
  console.log('arrivé', socket.id, socket.conn.transport.name);
  socket.on('join', (room, ack) => { socket.join(room); ack?.([...socket.rooms].length); });
  socket.on('say', (room, text, ack) => { socket.to(room).emit('said', text); ack?.('ok'); });
  socket.on('shout', (room, text) => { io.to(room).emit('all', text, socket.id); });
  socket.on('disconnect', (reason) => console.log('parti', reason));
});
server.listen(3000);
`;

describe('learner server: Socket.IO façade and real relay', () => {
  it('guide server: rooms, socket.to reaches the others only, io.to reaches all; the monitor shows the real packets', async () => {
    const { id, secret } = await learnerSession();
    const monitor = await Monitor.open(t, id);
    const h = await host(id, secret, GUIDE);
    const a = client(id, { auth: { token: 'secret' }, query: { client: 'A' } });
    const b = client(id, { auth: { token: 'secret' }, query: { client: 'B' }, transports: ['websocket'] });
    await Promise.all([connected(a), connected(b)]);
    expect(await a.timeout(5000).emitWithAck('join', 'salle')).toBe(2);
    expect(await b.timeout(5000).emitWithAck('join', 'salle')).toBe(2);

    let aGotSaid = false;
    a.on('said', () => {
      aGotSaid = true;
    });
    const saidB = next<string>(b, 'said');
    expect(await a.timeout(5000).emitWithAck('say', 'salle', 'bonjour')).toBe('ok');
    expect(await saidB).toBe('bonjour');

    const allA = next<string>(a, 'all');
    const allB = next<string>(b, 'all');
    a.emit('shout', 'salle', 'à tous');
    expect(await Promise.all([allA, allB])).toEqual(['à tous', 'à tous']);
    expect(aGotSaid).toBe(false);

    // The real Engine.IO / Socket.IO packets: an EVENT (type 2) named `said`, from the server.
    const said = await monitor.waitFor((e) => e.type === 'eio' && e.from === 'server' && e.sio?.type === 2 && e.sio?.event === 'said');
    expect(said.sio).toMatchObject({ nsp: '/', typeName: 'EVENT', data: ['said', 'bonjour'] });
    await monitor.waitFor((e) => e.type === 'eio' && e.from === 'client' && e.sio?.event === 'say');
    const rooms = await monitor.waitFor((e) => e.type === 'rooms' && e.rooms.salle?.length === 2);
    expect(Object.values(rooms.sockets).map((x) => (x as { client: string }).client)).toEqual(expect.arrayContaining(['A', 'B']));
    expect(h.logs.filter((l) => l.startsWith('log: arrivé'))).toHaveLength(2);
    a.disconnect();
    b.disconnect();
    monitor.close();
    h.ws.close();
  });

  it('io.use refusing a bad token: the client gets connect_error with the message and data', async () => {
    const { id, secret } = await learnerSession();
    const monitor = await Monitor.open(t, id);
    const h = await host(id, secret, GUIDE);
    const bad = client(id, { auth: { token: 'faux' } });
    const err = (await within(new Promise((resolve) => bad.once('connect_error', resolve)), 5000, 'connect_error')) as Error & {
      data?: unknown;
    };
    expect(err.message).toBe('interdit');
    expect(err.data).toEqual({ code: 42, aide: 'jeton attendu' });
    // CONNECT_ERROR (type 4) written by the real server.
    await monitor.waitFor((e) => e.type === 'eio' && e.from === 'server' && e.sio?.type === 4);
    const good = client(id, { auth: { token: 'secret' } });
    await connected(good);
    good.disconnect();
    monitor.close();
    h.ws.close();
  });

  it('acknowledgements both ways, binary arguments, and socket.timeout(200).emit to a client that never answers', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const { Server } = require('socket.io');
      const server = require('http').createServer();
      const io = new Server(server, { cors: { origin: '*' } });
      io.on('connection', (socket) => {
        socket.on('echo', (data, ack) => ack(Buffer.isBuffer(data) ? data.length : -1, data));
        socket.on('quiz', () => {
          socket.timeout(200).emit('q', 'ça va ?', (err, answer) => socket.emit('result', err ? err.message : answer));
        });
        socket.on('quiz-await', async () => {
          try { socket.emit('result', await socket.timeout(2000).emitWithAck('q', 'et là ?')); }
          catch (e) { socket.emit('result', 'erreur ' + e.message); }
        });
      });
      server.listen(3000);
      `,
    );
    const silent = client(id);
    await connected(silent);
    const [length, echoed] = await within(
      new Promise<[number, Buffer]>((resolve, reject) =>
        silent
          .timeout(5000)
          .emit('echo', Buffer.from([1, 2, 3]), (err: Error | null, n: number, data: Buffer) => (err ? reject(err) : resolve([n, data]))),
      ),
      6000,
      'echo ack',
    );
    expect(length).toBe(3);
    expect([...new Uint8Array(echoed)]).toEqual([1, 2, 3]);

    const started = Date.now();
    const result = next<string>(silent, 'result');
    silent.emit('quiz');
    expect(await result).toBe('operation has timed out');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);

    const polite = client(id);
    await connected(polite);
    polite.on('q', (question: string, ack: (answer: string) => void) => ack(`oui (${question})`));
    const answered = next<string>(polite, 'result');
    polite.emit('quiz-await');
    expect(await answered).toBe('oui (et là ?)');
    silent.disconnect();
    polite.disconnect();
    h.ws.close();
  });

  it('disconnect reasons: client namespace disconnect, server namespace disconnect, transport close', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const http = require('http');
      const server = http.createServer();
      const io = require('socket.io')(server);
      io.on('connection', (socket) => {
        socket.on('kick', () => socket.disconnect());
        socket.on('disconnecting', (reason) => console.log('quitte', [...socket.rooms].length, reason));
        socket.on('disconnect', (reason) => console.log('parti', socket.handshake.query.n, reason, socket.rooms.size));
      });
      server.listen(3000);
      `,
    );
    const one = client(id, { query: { n: '1' } });
    const two = client(id, { query: { n: '2' } });
    const three = client(id, { query: { n: '3' } });
    await Promise.all([connected(one), connected(two), connected(three)]);

    one.disconnect();
    await until(() => h.logs.includes('log: parti 1 client namespace disconnect 0'), 'client namespace disconnect');
    expect(h.logs).toContain('log: quitte 1 client namespace disconnect');

    const kicked = next<string>(two, 'disconnect');
    two.emit('kick');
    expect(await kicked).toBe('io server disconnect');
    await until(() => h.logs.includes('log: parti 2 server namespace disconnect 0'), 'server namespace disconnect');

    three.io.engine.close();
    await until(() => h.logs.includes('log: parti 3 transport close 0'), 'transport close');
    h.ws.close();
  });

  it('connection state recovery: after a transport close, same id, room, data and the missed event; socket.recovered on both sides', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const http = require('http');
      const server = http.createServer();
      const io = require('socket.io')(server, { connectionStateRecovery: { maxDisconnectionDuration: 60000 } });
      io.use((socket, next) => {
        console.log('middleware', socket.recovered);
        next();
      });
      io.on('connection', (socket) => {
        console.log('connexion', socket.id, socket.recovered, [...socket.rooms].sort().join(','), JSON.stringify(socket.data));
        if (socket.handshake.query.n === '1' && !socket.recovered) {
          socket.join('salon');
          socket.data.nom = 'Ada';
        }
        socket.on('diffuse', (texte) => io.to('salon').emit('annonce', texte));
        socket.on('disconnect', (reason) => console.log('parti', socket.handshake.query.n, reason));
      });
      server.listen(3000);
      `,
    );
    // Asked for 60 s, kept 30 s at most: the learner is told.
    await until(() => h.logs.some((l) => l.includes('maxDisconnectionDuration ramené à 30')), 'recovery bound warning');
    const away = client(id, {
      query: { n: '1' },
      transports: ['websocket'],
      reconnection: true,
      reconnectionDelay: 600,
      reconnectionDelayMax: 600,
    });
    const other = client(id, { query: { n: '2' }, transports: ['websocket'] });
    await Promise.all([connected(away), connected(other)]);
    const firstId = away.id;
    expect(away.recovered).toBe(false);
    await until(() => h.logs.includes(`log: connexion ${firstId} false ${firstId} {}`), 'first connection');
    // A first event to the room: the client now holds an offset.
    const first = next<string>(away, 'annonce');
    other.emit('diffuse', 'un');
    expect(await first).toBe('un');

    // The transport dies; while the client is away, the room gets an event.
    away.io.engine.close();
    await until(() => h.logs.includes('log: parti 1 transport close'), 'transport close');
    other.emit('diffuse', 'deux');
    const missed = next<string>(away, 'annonce');
    await connected(away);
    expect(await missed).toBe('deux');
    expect(away.id).toBe(firstId);
    expect(away.recovered).toBe(true);
    // The façade sees what socket.io restored: the room, socket.data; skipMiddlewares (default) skips io.use.
    // The server logs the rooms sorted, as here (an id may sort after « salon »).
    const rooms = [firstId, 'salon'].sort().join(',');
    await until(() => h.logs.includes(`log: connexion ${firstId} true ${rooms} {"nom":"Ada"}`), 'recovered connection');
    expect(h.logs.filter((l) => l.startsWith('log: middleware'))).toEqual(['log: middleware false', 'log: middleware false']);
    away.close();
    other.close();
    h.ws.close();
  });

  it('polling then upgrade to WebSocket: socket.conn.transport.name becomes websocket on the façade', async () => {
    const { id, secret } = await learnerSession();
    const monitor = await Monitor.open(t, id);
    const h = await host(
      id,
      secret,
      `
      const server = require('http').createServer();
      const io = require('socket.io')(server);
      io.on('connection', (socket) => {
        console.log('transport', socket.conn.transport.name);
        socket.conn.on('upgrade', (transport) => console.log('upgrade', transport.name));
        socket.on('transport?', (ack) => ack(socket.conn.transport.name));
      });
      server.listen(3000);
      `,
    );
    const s = client(id);
    await connected(s);
    await within(
      new Promise<void>((resolve) => {
        if (s.io.engine.transport.name === 'websocket') resolve();
        else s.io.engine.once('upgrade', () => resolve());
      }),
      5000,
      'client upgrade',
    );
    await until(() => h.logs.includes('log: upgrade websocket'), 'upgrade seen by the server code');
    expect(h.logs).toContain('log: transport polling');
    expect(await s.timeout(5000).emitWithAck('transport?')).toBe('websocket');
    await monitor.waitFor((e) => e.type === 'eio' && e.packet === 'upgrade' && e.transport === 'websocket');
    s.disconnect();
    monitor.close();
    h.ws.close();
  });

  it('namespaces, socketsJoin, fetchSockets, broadcast acknowledgements and CORS preflight', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const server = require('http').createServer();
      const { Server } = require('socket.io');
      const io = new Server(server, { cors: { origin: 'https://ecole.example', credentials: true } });
      const admin = io.of('/admin');
      admin.on('connection', (socket) => {
        socket.on('gather', async (ack) => {
          io.socketsJoin('tous');
          const sockets = await io.in('tous').fetchSockets();
          const responses = await io.timeout(2000).to('tous').emitWithAck('vote');
          ack({ count: sockets.length, rooms: sockets.map((s) => [...s.rooms].length), responses: responses.sort() });
        });
      });
      server.listen(3000);
      `,
    );
    const voters = [client(id), client(id)];
    await Promise.all(voters.map(connected));
    for (const [i, v] of voters.entries()) v.on('vote', (ack: (n: number) => void) => ack(i));
    const admin = client(id, {}, '/admin');
    await connected(admin);
    expect(await admin.timeout(5000).emitWithAck('gather')).toEqual({ count: 2, rooms: [2, 2], responses: [0, 1] });

    const preflight = await fetch(`${t.http}/s/${id}/socket.io/?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://ecole.example', 'Access-Control-Request-Method': 'POST' },
      signal: AbortSignal.timeout(5000),
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://ecole.example');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    for (const s of [...voters, admin]) s.disconnect();
    h.ws.close();
  });

  it('cors leaving out the client’s origin: the polling answer allows no origin, the WebSocket transport connects anyway', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const server = require('http').createServer();
      const { Server } = require('socket.io');
      const io = new Server(server, { cors: { origin: ['https://atelier.example'] } });
      io.on('connection', (socket) => console.log('origin', socket.handshake.headers.origin, socket.conn.transport.name));
      server.listen(3000);
      `,
    );
    const handshake = (origin: string) =>
      fetch(`${t.http}/s/${id}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: origin }, signal: AbortSignal.timeout(5000) });
    // The real server answers the handshake (the browser, not the server, withholds it from the
    // script): an origin of the list gets it back in Access-Control-Allow-Origin, "null" gets none.
    const refused = await handshake('null');
    expect(refused.status).toBe(200);
    expect(await refused.text()).toMatch(/^0\{"sid":/);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await handshake('https://atelier.example');
    await allowed.arrayBuffer();
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://atelier.example');
    // The sandbox adds none of its own CORS headers on the Socket.IO path.
    const preflight = await fetch(`${t.http}/s/${id}/socket.io/?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: { Origin: 'null', 'Access-Control-Request-Method': 'POST' },
      signal: AbortSignal.timeout(5000),
    });
    await preflight.arrayBuffer();
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    // CORS does not apply to WebSocket: the same origin connects over the websocket transport.
    const ws = client(id, { transports: ['websocket'], extraHeaders: { Origin: 'null' } });
    await connected(ws);
    await until(() => h.logs.includes('log: origin null websocket'), 'connection seen by the server code');
    ws.disconnect();
    h.ws.close();
  });

  it('no cors option: every origin is allowed (the sandbox’s stand-in for a page served by the same server)', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(id, secret, `const s = require('http').createServer(); require('socket.io')(s); s.listen(3000);`);
    const res = await fetch(`${t.http}/s/${id}/socket.io/?EIO=4&transport=polling`, {
      headers: { Origin: 'null' },
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    h.ws.close();
  });

  it('rooms per socket: the façade and the real server stop at the sandbox’s cap alike', async () => {
    expect(IO_MAX_ROOMS_PER_SOCKET).toBe(MAX_ROOMS_PER_SOCKET);
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const server = require('http').createServer();
      const io = require('socket.io')(server);
      io.on('connection', (socket) => {
        socket.on('many', (ack) => {
          for (let i = 1; i <= ${MAX_ROOMS_PER_SOCKET + 2}; i++) socket.join('r' + i);
          ack(socket.rooms.size);
        });
        socket.on('count', async (room, ack) => ack((await io.in(room).fetchSockets()).length));
      });
      server.listen(3000);
      `,
    );
    const s = client(id);
    await connected(s);
    expect(await s.timeout(5000).emitWithAck('many')).toBe(MAX_ROOMS_PER_SOCKET + 1);
    expect(await s.timeout(5000).emitWithAck('count', `r${MAX_ROOMS_PER_SOCKET}`)).toBe(1);
    expect(await s.timeout(5000).emitWithAck('count', `r${MAX_ROOMS_PER_SOCKET + 1}`)).toBe(0);
    expect(h.logs.some((l) => l.startsWith('warn: [bac à sable] Un socket ne peut pas être dans plus de'))).toBe(true);
    expect(h.received.some((m) => m.t === 'error')).toBe(false);
    s.disconnect();
    h.ws.close();
  });

  it('speaks the host protocol: io-auth → io-next, io-connection, io-event with ack → io-ack, io-emit', async () => {
    const { id, secret } = await learnerSession();
    const ws = await openWs(`${t.ws}/api/sessions/${id}/host`);
    const received: SandboxToHost[] = [];
    ws.on('message', (data) => received.push(...(hostFrameMessages(data.toString()) as SandboxToHost[])));
    const first = <T extends SandboxToHost['t']>(t: T) => received.find((m) => m.t === t) as Extract<SandboxToHost, { t: T }> | undefined;
    ws.send(JSON.stringify({ t: 'auth', secret }));
    await until(() => !!first('ready'), 'ready');
    ws.send(JSON.stringify({ t: 'io-attach', nsps: [], options: {} }));
    const s = client(id, { auth: { token: 'jeton' }, query: { client: 'A' } });
    await until(() => !!first('io-auth'), 'io-auth');
    const auth = first('io-auth') as Extract<SandboxToHost, { t: 'io-auth' }>;
    expect(auth).toMatchObject({
      nsp: '/',
      transport: 'polling',
      handshake: { auth: { token: 'jeton' }, query: { client: 'A', EIO: '4' } },
    });
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
    ws.on('message', (data) => received.push(...(hostFrameMessages(data.toString()) as SandboxToHost[])));
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

  it('an emit of any size: sent whole when the sandbox accepts it, else refused in the server console, the channel kept', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const server = require('http').createServer();
      const io = require('socket.io')(server);
      const texts = { accents: 'é'.repeat(60000), quotes: '"'.repeat(60000), controls: '\\u0001'.repeat(60000), huge: 'x'.repeat(1000000) };
      io.on('connection', (socket) => {
        socket.on('big', (kind) => {
          socket.emit('big', texts[kind]);
          io.emit('after', kind);
        });
      });
      server.listen(3000);
      `,
    );
    const s = client(id, { transports: ['websocket'] });
    await connected(s);
    const bigs: string[] = [];
    s.on('big', (text: string) => bigs.push(text));
    const ask = async (kind: string) => {
      const after = next<string>(s, 'after');
      s.emit('big', kind);
      expect(await after).toBe(kind);
    };
    // 120 000 bytes of UTF-8 in 60 002 JSON characters: within the sandbox's rule, so it goes out.
    await ask('accents');
    expect(bigs).toEqual(['é'.repeat(60000)]);
    // 120 002 JSON characters: refused by the sandbox (its frame still fits the channel).
    await ask('quotes');
    await until(() => h.logs.some((l) => l.includes('HOST_ERR_TOO_BIG')), 'the sandbox’s refusal');
    expect(h.logs.find((l) => l.includes('HOST_ERR_TOO_BIG'))).toMatch(/^error: \[bac à sable\] Message Socket\.IO trop grand/);
    // 360 000 bytes of JSON, and a 1 MB text: past any host frame, refused by the façade itself.
    await ask('controls');
    await ask('huge');
    const local = h.logs.filter((l) => l.includes('n’est pas envoyée'));
    expect(local).toHaveLength(2);
    expect(local[0]).toMatch(/^error: \[bac à sable\] Message Socket\.IO trop grand \(360[\s\u202f]0\d\d\u00a0octets une fois encodé\)/);
    expect(bigs).toHaveLength(1);
    expect(h.ws.readyState).toBe(h.ws.OPEN);
    s.disconnect();
    h.ws.close();
  });

  it('a host that never answers the middleware: the client gets « Le serveur de la leçon ne répond pas »', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const server = require('http').createServer();
      const io = require('socket.io')(server);
      io.use(() => {});
      server.listen(3000);
      `,
    );
    const s = client(id);
    const err = (await within(new Promise((resolve) => s.once('connect_error', resolve)), 8000, 'connect_error')) as Error;
    expect(err.message).toBe('Le serveur de la leçon ne répond pas');
    h.ws.close();
  }, 15_000);
});
