// Socket.IO / Engine.IO attacks over raw HTTP polling and raw WebSocket frames.
import type { Attack, AttackContext, HttpConn } from '../context.ts';
import { clientFrame, OP } from '../raw.ts';

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
          await conn.request('POST', `/s/${id}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, body: '1' });
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
