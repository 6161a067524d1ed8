// Socket.IO / Engine.IO attacks over raw HTTP polling and raw WebSocket frames.
import type { Attack, AttackContext, HttpConn } from '../context.ts';
import { clientFrame, OP, ResponseReader } from '../raw.ts';

/** Opens an Engine.IO polling session; returns its sid, or null (status recorded). */
async function handshake(ctx: AttackContext, conn: HttpConn, id: string, query = ''): Promise<string | null> {
  const res = await conn.request('GET', `/s/${id}/socket.io/?EIO=4&transport=polling${query}`);
  if (!res) return null;
  if (res.status !== 200) {
    ctx.answer(`http ${res.status}`);
    return null;
  }
  const m = /"sid":"([^"]+)"/.exec(res.body.toString());
  return m ? m[1] : null;
}

/**
 * Crash #1 of issue 9: polling handshakes, each followed by a `40` CONNECT, each request carrying
 * an 8,000-character `?client=` label, in a loop on one session. The handshakes are never closed:
 * every Engine.IO session lives until its ping timeout, and every CONNECT changes the rooms.
 */
export const socketIoClientQuery: Attack = {
  name: 'sio-client-query',
  title: 'Socket.IO polling handshake + `40` CONNECT with an 8,000-char `?client=`, in a loop, one session',
  // Before the fix this passed 500 MiB in 2.5 s; 5 s is enough to pass 1 GiB.
  minMs: 5000,
  async run(ctx) {
    const id = await ctx.createSession(ctx.ip());
    if (!id) return ctx.note('no session');
    const label = `&client=${'Q'.repeat(8000)}`;
    let connects = 0;
    await ctx.workers(4, async () => {
      let conn = ctx.http(ctx.ip());
      while (ctx.running) {
        if (!conn.alive) conn = ctx.http(ctx.ip());
        const sid = await handshake(ctx, conn, id, label);
        if (!sid) {
          await ctx.sleep(20);
          continue;
        }
        const res = await conn.request('POST', `/s/${id}/socket.io/?EIO=4&transport=polling&sid=${sid}${label}`, {
          headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
          body: '40',
        });
        if (res && res.status === 200) connects++;
        else if (res) ctx.answer(`http ${res.status}`);
      }
    });
    ctx.note(`${connects} handshakes + CONNECT`);
  },
};

/** 6,400 Engine.IO handshakes without a label (the issue: RSS 1.1 GB, 947 MB a minute later). */
export const engineIoHandshakeFlood: Attack = {
  name: 'eio-handshake-flood',
  title: 'Engine.IO polling handshakes without a label, up to 6,400, over 20 sessions, 8 keep-alive connections',
  async run(ctx) {
    const ids = await ctx.createSessions(ctx.ip(), 20);
    if (ids.length === 0) return ctx.note('no session');
    const total = 6400;
    let started = 0;
    let opened = 0;
    await ctx.workers(8, async (w) => {
      let conn = ctx.http(ctx.ip(1 + (w % 2)));
      while (ctx.running && started < total) {
        const id = ids[started++ % ids.length];
        if (!conn.alive) conn = ctx.http(ctx.ip(1 + (w % 2)));
        if (await handshake(ctx, conn, id)) opened++;
      }
    });
    ctx.note(`${opened} of ${started} handshakes answered 200`);
  },
};

/** Malformed Engine.IO / Socket.IO packets in polling bodies (text after the packet type). */
const BAD_POLLING_BODIES: (string | Buffer)[] = [
  '4{',
  '40{"auth":',
  '42["ev"',
  '42[',
  '4-1',
  '451-["x",{"_placeholder":true,"num":0}]', // waits for one binary attachment, never sent
  '45999999999-["x",{"_placeholder":true,"num":0}]',
  '49',
  '7',
  'x',
  '',
  '40/nope,',
  '41',
  '42/comments,["comment",1]',
  'bAAAA====',
  `42${'['.repeat(20000)}`,
  '42["a"]\x1e'.repeat(8000), // eight thousand packets in one body, within 64 KiB
  Buffer.from([0x34, 0x32, 0xff, 0xfe, 0xc3]), // invalid UTF-8
  `42["join","${'r'.repeat(60)}"]`,
];

/** Malformed Engine.IO packets over the WebSocket transport. */
const BAD_WS_FRAMES: Buffer[] = [
  clientFrame(OP.text, '2probe'),
  clientFrame(OP.text, '5'),
  clientFrame(OP.text, '4{'),
  clientFrame(OP.text, '42["ev"'),
  clientFrame(OP.text, '451-["x",{"_placeholder":true,"num":0}]'),
  clientFrame(OP.binary, Buffer.from([0x04, 0xff, 0x00])),
  clientFrame(OP.text, '9'),
  clientFrame(OP.text, ''),
  clientFrame(OP.text, `42${'{'.repeat(10000)}`),
];

/**
 * Malformed Engine.IO / Socket.IO packets (polling bodies and WebSocket frames), and defect #6 of
 * the issue: Engine.IO's own 400 answer to an unknown sid must not be reported on the monitor as
 * a protocol violation by the server.
 */
export const malformedEngineIo: Attack = {
  name: 'malformed-eio-sio',
  title: 'malformed Engine.IO/Socket.IO packets over polling and WebSocket; unknown-sid 400 not a server violation',
  async run(ctx) {
    const [id, watched] = await ctx.createSessions(ctx.ip(), 2);
    if (!id || !watched) return ctx.note('no session');
    // A session that only ever gets the unknown-sid request, watched by a monitor.
    let serverViolation = '';
    const monitor = await ctx.monitor(ctx.ip(), watched, {
      onText: (text) => {
        if (text.includes('"type":"violation"') && text.includes('"from":"server"')) serverViolation ||= text.slice(0, 200);
      },
    });
    const unknown = await ctx.request(ctx.ip(), 'GET', `/s/${watched}/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA`);
    if (unknown) ctx.answer(`http ${unknown.status}`);
    let sent = 0;
    await ctx.workers(3, async (w) => {
      let conn = ctx.http(ctx.ip(1 + w));
      let i = w;
      while (ctx.running) {
        if (w === 2) {
          // WebSocket transport: a raw Engine.IO WebSocket, malformed frames, then the next one.
          const ws = await ctx.ws(ctx.ip(1 + w), `/s/${id}/socket.io/?EIO=4&transport=websocket`);
          if (ws.open) {
            for (const f of BAD_WS_FRAMES) ws.send(f);
            sent += BAD_WS_FRAMES.length;
          }
          await Promise.race([ws.gone, ctx.sleep(200)]);
          ws.destroy();
          if (!ws.status || ws.status !== 101) await ctx.sleep(50); // refused: no tight loop
          continue;
        }
        if (!conn.alive) conn = ctx.http(ctx.ip(1 + w));
        const sid = await handshake(ctx, conn, id);
        if (!sid) {
          await ctx.sleep(50);
          continue;
        }
        const body = BAD_POLLING_BODIES[i++ % BAD_POLLING_BODIES.length];
        const res = await conn.request('POST', `/s/${id}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
          headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
          body,
        });
        sent++;
        if (res && res.status !== 200) ctx.answer(`http ${res.status}`);
        // Ask for what the server queued, which makes it serialize its answers to the garbage.
        // With nothing queued a poll waits 25 s: given up after 300 ms with its connection (the
        // same keep-alive connection otherwise: new connections per session are rate-limited).
        if (res?.status === 200) {
          const stuck = conn;
          const timer = setTimeout(() => stuck.close(), 300);
          const poll = await conn.request('GET', `/s/${id}/socket.io/?EIO=4&transport=polling&sid=${sid}`);
          clearTimeout(timer);
          if (poll && poll.status !== 200) ctx.answer(`http ${poll.status}`);
          // Close the Engine.IO session if the garbage left it open (`1`): the session's
          // Engine.IO client limit would otherwise refuse the next handshakes.
          if (!conn.alive) conn = ctx.http(ctx.ip(1 + w));
          await conn.request('POST', `/s/${id}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
            headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
            body: '1',
          });
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    monitor.destroy();
    ctx.note(`${sent} malformed bodies/frames`);
    if (serverViolation) ctx.defect(`Engine.IO's 400 for an unknown sid reported as a server violation: ${serverViolation}`);
  },
};

/**
 * The mechanism of crash #1 over the WebSocket transport: every join/leave emits a `rooms` event
 * listing every socket and room of the namespace, so the events grow with the sockets. 20
 * sessions × 10 raw Engine.IO WebSockets (the session's Engine.IO client limit), each joining and
 * leaving rooms of 64-character names in `/` and `/comments`, at 45 frames/s per session (under
 * the 50/s rate, so the server keeps them).
 */
export const socketIoRoomsChurn: Attack = {
  name: 'sio-rooms-churn',
  title: '20 sessions × 10 raw Socket.IO WebSockets joining/leaving 64-char rooms at 45 frames/s per session',
  async run(ctx) {
    const ids = await ctx.createSessions(ctx.ip(), 20);
    if (ids.length === 0) return ctx.note('no session');
    let sent = 0;
    let opened = 0;
    const room = (i: number) => `${String(i % 8).padStart(2, '0')}${'r'.repeat(62)}`;
    await ctx.workers(ids.length, async (w) => {
      const id = ids[w];
      const sockets = [];
      for (let c = 0; c < 10 && ctx.running; c++) {
        const ws = await ctx.ws(ctx.ip(1 + (w % 4)), `/s/${id}/socket.io/?EIO=4&transport=websocket&client=R${c}`);
        if (!ws.open) {
          ws.destroy();
          continue;
        }
        opened++;
        ws.send(Buffer.concat([clientFrame(OP.text, '40'), clientFrame(OP.text, '40/comments,')]));
        sockets.push(ws);
      }
      if (sockets.length === 0) return;
      // 45 frames per second per session, spread over its sockets: join rooms, then leave them.
      for (let tick = 0; ctx.running; tick++) {
        const live = sockets.filter((s) => s.open);
        if (live.length === 0) break;
        for (let i = 0; i < 9; i++) {
          const n = tick * 9 + i;
          const nsp = n % 2 ? '/comments,' : '';
          const verb = Math.floor(n / 16) % 2 ? 'leave' : 'join';
          live[n % live.length].send(clientFrame(OP.text, `42${nsp}["${verb}","${room(n >> 1)}"]`));
          sent++;
        }
        await ctx.sleep(200);
      }
    });
    ctx.note(`${opened} Socket.IO WebSockets, ${sent} join/leave packets`);
  },
};

/** The sandbox's default per-session cap on Engine.IO clients (and sockets per namespace). */
const MAX_ENGINE_IO_CLIENTS = 10;
/** The sandbox's default cap on bytes queued for one client (maxSendBuffer). */
const MAX_SEND_BUFFER = 1024 * 1024;

/**
 * Monitors on `ids` (one each, from `ip`) that record every `limit` event as an answer
 * `limit <limit>/<action>`; returns the monitors, to destroy at the end.
 */
async function limitWatchers(ctx: AttackContext, ip: string, ids: string[]) {
  return Promise.all(
    ids.map((id) =>
      ctx.monitor(ip, id, {
        onText: (text) => {
          if (!text.includes('"type":"limit"')) return;
          try {
            const e = JSON.parse(text) as { type?: string; limit?: string; action?: string };
            if (e.type === 'limit') ctx.answer(`limit ${e.limit}/${e.action}`);
          } catch {
            ctx.answer('limit (unparsed event)');
          }
        },
      }),
    ),
  );
}

/**
 * A request given up (with its connection) after `ms` or when the attack stops: a poll with
 * nothing queued waits 25 s, and a stalled server must not keep the attack past its deadline.
 */
async function requestWithin(ctx: AttackContext, conn: HttpConn, ms: number, method: string, path: string, body?: string) {
  const stop = () => conn.close();
  const timer = setTimeout(stop, ms);
  ctx.signal.addEventListener('abort', stop, { once: true });
  try {
    return await conn.request(method, path, body === undefined ? {} : { headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, body });
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', stop);
  }
}

/** handshake(), given up after 5 s or when the attack stops. */
async function boundedHandshake(ctx: AttackContext, conn: HttpConn, id: string): Promise<string | null> {
  const stop = () => conn.close();
  const timer = setTimeout(stop, 5000);
  ctx.signal.addEventListener('abort', stop, { once: true });
  try {
    return await handshake(ctx, conn, id);
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', stop);
  }
}

/** Socket.IO CONNECT acknowledgements (`40{"sid":…}` or `40/nsp,{"sid":…}`) in a polling answer. */
function connectAcks(body: Buffer): number {
  return (body.toString().match(/(^|\x1e)40(\/[^,]*,)?\{"sid"/g) ?? []).length;
}

/**
 * Review hole #1: Socket.IO makes a new socket for every `40` CONNECT, even a repeated one from
 * the same client, and 20,000 of them fit in one 64 KiB polling body (before the fix: +540 MB of
 * heap per body). Per session: a polling handshake, a ~60 KB body of `40` packets, then a GET for
 * what the server answered (more than maxEngineIoClients CONNECT acks is the defect); a new
 * handshake when the server closed the Engine.IO connection. 20 sessions from one IP.
 */
export const socketIoConnectFlood: Attack = {
  name: 'sio-connect-flood',
  title: 'polling bodies of 20,000 `40` CONNECT packets (~60 KB) per Engine.IO client, in a loop, 20 sessions',
  async run(ctx) {
    const ids = await ctx.createSessions(ctx.ip(), 20);
    if (ids.length === 0) return ctx.note('no session');
    const monitors = await limitWatchers(ctx, ctx.ip(5), ids);
    const body = Array.from({ length: 20_000 }, () => '40').join('\x1e');
    let posts = 0;
    let mostAcks = 0;
    await ctx.workers(ids.length, async (w) => {
      const id = ids[w];
      const ip = ctx.ip(1 + (w % 4));
      let conn = ctx.http(ip);
      while (ctx.running) {
        if (!conn.alive) conn = ctx.http(ip);
        const sid = await boundedHandshake(ctx, conn, id);
        if (!sid) {
          await ctx.sleep(100);
          continue;
        }
        const url = `/s/${id}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
        const res = await requestWithin(ctx, conn, 5000, 'POST', url, body);
        posts++;
        if (res) ctx.answer(`POST http ${res.status}`);
        if (!ctx.running) break;
        if (!conn.alive) conn = ctx.http(ip);
        // What the server answered the CONNECTs (an ack per socket made), or that the sid is gone.
        const poll = await requestWithin(ctx, conn, 1000, 'GET', url);
        if (poll) {
          ctx.answer(`GET http ${poll.status}`);
          const acks = connectAcks(poll.body);
          mostAcks = Math.max(mostAcks, acks);
          if (poll.body.toString().includes('\x1e1') || poll.body.toString() === '1') ctx.answer('eio close packet');
        }
        // Close the Engine.IO client if it is still open (the session's client limit).
        if (poll?.status === 200) {
          if (!conn.alive) conn = ctx.http(ip);
          await requestWithin(ctx, conn, 1000, 'POST', url, '1');
        }
        await ctx.sleep(20);
      }
    });
    for (const m of monitors) m.destroy();
    ctx.note(`${posts} bodies of 20,000 CONNECTs; at most ${mostAcks} CONNECT ack(s) in one answer`);
    if (mostAcks > MAX_ENGINE_IO_CLIENTS)
      ctx.defect(`${mostAcks} Socket.IO sockets made from one polling body (cap ${MAX_ENGINE_IO_CLIENTS})`);
  },
};

/**
 * Review hole #2: over polling, what the server sends waits in the Engine.IO write buffer until
 * the client's next GET. A client that never sends one (a blind `3` pong now and then keeps it
 * alive) made that buffer grow without bound (before the fix: ~50 MB/s with 20 sessions). Per
 * session: handshake, `40`, then `42["binary","<60,000 × A>"]` (echoed back) at 40 POSTs a second
 * (under the 50/s rate); more than 2 × maxSendBuffer accepted for one client that never read is
 * the defect.
 */
export const socketIoPollingNonReader: Attack = {
  name: 'sio-polling-non-reader',
  title: 'polling clients that never GET: `42["binary", 60,000 chars]` echoed back, 40 POSTs/s per session, 20 sessions',
  async run(ctx) {
    const ids = await ctx.createSessions(ctx.ip(), 20);
    if (ids.length === 0) return ctx.note('no session');
    const monitors = await limitWatchers(ctx, ctx.ip(5), ids);
    const event = `42["binary","${'A'.repeat(60_000)}"]`;
    let posts = 0;
    let clients = 0;
    let mostUnread = 0;
    await ctx.workers(ids.length, async (w) => {
      const id = ids[w];
      const ip = ctx.ip(1 + (w % 4));
      let conn = ctx.http(ip);
      while (ctx.running) {
        if (!conn.alive) conn = ctx.http(ip);
        const sid = await boundedHandshake(ctx, conn, id);
        if (!sid) {
          await ctx.sleep(200);
          continue;
        }
        const url = `/s/${id}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
        const connect = await requestWithin(ctx, conn, 5000, 'POST', url, '40');
        if (connect?.status !== 200) {
          if (connect) ctx.answer(`CONNECT http ${connect.status}`);
          await ctx.sleep(200);
          continue;
        }
        clients++;
        let unread = 0;
        let lastPong = Date.now();
        const start = Date.now();
        for (let n = 1; ctx.running; n++) {
          if (!conn.alive) conn = ctx.http(ip);
          if (Date.now() - lastPong > 5000) {
            lastPong = Date.now();
            await requestWithin(ctx, conn, 5000, 'POST', url, '3');
          }
          const res = await requestWithin(ctx, conn, 5000, 'POST', url, event);
          posts++;
          if (res?.status !== 200) {
            if (res) ctx.answer(`POST http ${res.status}`);
            break; // the server closed this Engine.IO client: a new one
          }
          unread += event.length;
          mostUnread = Math.max(mostUnread, unread);
          // 40 a second per session.
          const wait = start + n * 25 - Date.now();
          if (wait > 0) await ctx.sleep(wait);
        }
        await ctx.sleep(50);
      }
    });
    for (const m of monitors) m.destroy();
    ctx.note(
      `${clients} Engine.IO clients, ${posts} POSTs; at most ${(mostUnread / 1048576).toFixed(1)} MiB of echoes accepted for one client that never read`,
    );
    if (mostUnread > 2 * MAX_SEND_BUFFER)
      ctx.defect(
        `${(mostUnread / 1048576).toFixed(1)} MiB of echoes queued for a polling client that never sends a GET (cap ${MAX_SEND_BUFFER / 1048576} MiB)`,
      );
  },
};

/**
 * Review hole #3: engine.io counts a client only after an await in its handshake, so handshakes
 * pipelined on one TCP connection all saw the old count (before the fix: 200 of 200 answered 200).
 * Per session: one connection, 200 pipelined polling handshakes in one write; at most
 * maxEngineIoClients may be 200. The clients made are then closed (`1`) and the round repeated.
 */
export const socketIoPipelinedHandshakes: Attack = {
  name: 'sio-pipelined-handshakes',
  title: '200 pipelined Engine.IO polling handshakes in one write on one TCP connection, per session, 20 sessions, repeated',
  async run(ctx) {
    const ids = await ctx.createSessions(ctx.ip(), 20);
    if (ids.length === 0) return ctx.note('no session');
    const count = 200;
    let rounds = 0;
    let mostOk = 0;
    await ctx.workers(ids.length, async (w) => {
      const id = ids[w];
      const ip = ctx.ip(1 + (w % 4));
      const path = `/s/${id}/socket.io/?EIO=4&transport=polling`;
      const head = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`.repeat(count), 'latin1');
      while (ctx.running) {
        const socket = ctx.dial(ip);
        const sids: string[] = [];
        let answered = 0;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 5000);
          function done() {
            clearTimeout(timer);
            ctx.signal.removeEventListener('abort', done);
            socket.destroy();
            resolve();
          }
          ctx.signal.addEventListener('abort', done, { once: true });
          const reader = new ResponseReader((r) => {
            answered++;
            ctx.answer(`http ${r.status}`);
            if (r.status === 200) {
              const m = /"sid":"([^"]+)"/.exec(r.body.toString());
              if (m) sids.push(m[1]);
            }
            if (answered === count) done();
          });
          socket.on('data', (d: Buffer) => reader.push(d));
          socket.once('close', done);
          socket.write(head);
        });
        if (answered === count || sids.length > 0) rounds++;
        else if (answered < count && ctx.running) ctx.answer(`${count - answered} unanswered`);
        mostOk = Math.max(mostOk, sids.length);
        // Close the clients made, so that the next round starts from none.
        if (sids.length && ctx.running) {
          const conn = ctx.http(ip);
          await Promise.all(sids.map((sid) => requestWithin(ctx, conn, 2000, 'POST', `${path}&sid=${sid}`, '1')));
          conn.close();
        }
        await ctx.sleep(500);
      }
    });
    ctx.note(`${rounds} rounds; at most ${mostOk} of ${count} pipelined handshakes answered 200 on one connection`);
    if (mostOk > MAX_ENGINE_IO_CLIENTS)
      ctx.defect(
        `${mostOk} of ${count} pipelined handshakes on one connection answered 200 (cap ${MAX_ENGINE_IO_CLIENTS} Engine.IO clients per session)`,
      );
  },
};
