// WebSocket frame floods against the echo scenario, with hand-built frames written from a few
// pre-built buffers (the same bytes over and over: the client does no per-frame work).
import type { Attack, AttackContext, RawWs, RawWsOptions } from '../context.ts';
import { clientFrame, OP } from '../raw.ts';

/**
 * 4,096 bytes of text that is expensive to show: two-byte UTF-8 characters (hex of two bytes
 * each) and control characters that JSON escapes as \u0001 (six characters per byte).
 */
export function costlyText(bytes: number): Buffer {
  const unit = Buffer.from('é\u0001'); // 3 bytes
  const out = Buffer.alloc(bytes, 0x01);
  for (let at = 0; at + unit.length <= bytes; at += unit.length) unit.copy(out, at);
  return out;
}

/** How long a flood connection open at the deadline may wait for the server's close. */
const CLOSE_GRACE_MS = 3000;

/** Calls `body` on connections to `path`, reconnecting until the deadline; returns how many opened. */
async function connectionLoop(
  ctx: AttackContext,
  ip: string,
  path: string,
  body: (ws: RawWs) => Promise<void>,
  opts: RawWsOptions = {},
): Promise<number> {
  let connections = 0;
  while (ctx.running) {
    const ws = await ctx.ws(ip, path, opts);
    if (!ws.open) {
      ws.destroy();
      await ctx.sleep(100); // refused (429, 404…): retry a little later
      continue;
    }
    connections++;
    await body(ws);
    // At the deadline, the server may still be reading what was written before it (a loaded
    // machine: another test file, a build): its close, if it comes, is given a moment to arrive
    // before the connection is dropped and the flood judged by `neverClosed`.
    if (!ctx.running && ws.open) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ws.gone, new Promise((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
    }
    ws.destroy();
  }
  return connections;
}

/** Resolves when the connection is gone or the attack stops. */
function untilGone(ctx: AttackContext, ws: RawWs): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      ctx.signal.removeEventListener('abort', done);
      resolve();
    };
    ctx.signal.addEventListener('abort', done, { once: true });
    void ws.gone.then(done);
  });
}

/** A flood the server never closed: it did not count those frames against any limit. */
function neverClosed(ctx: AttackContext, what: string, frames: number): void {
  const closes = [...ctx.answers.keys()].filter((k) => k.startsWith('close') || k === 'cut');
  if (closes.length === 0 && frames > 10_000) ctx.defect(`${(frames / 1e6).toFixed(1)} M ${what} and no close: not rate-limited`);
}

/** Writes `chunk` again and again while the connection lives, honoring backpressure. */
async function pump(ctx: AttackContext, ws: RawWs, chunk: Buffer): Promise<number> {
  let writes = 0;
  while (ctx.running && ws.open) {
    writes++;
    if (!ws.send(chunk)) await ws.drained();
    if (writes % 64 === 0) await new Promise((r) => setImmediate(r)); // let reads and timers run
  }
  return writes;
}

/**
 * Crash #2 of issue 9: twenty sessions; each connection sends 15 text fragments of 4 KiB (FIN=0)
 * that never finish, so no message and no rate token, then ends the connection; again and again.
 */
export const unfinishedFragments: Attack = {
  name: 'unfinished-fragments',
  title: '20 sessions, echo connections sending 15 unfinished 4 KiB text fragments (é and control chars) then leaving, repeated',
  // Before the fix this reached about 830 MiB in 5 s; a shorter short run would not tell.
  minMs: 6000,
  async run(ctx) {
    const ids = await ctx.createSessions(ctx.ip(), 20);
    if (ids.length === 0) return ctx.note('no session');
    const fragment = costlyText(4096);
    const frames = Buffer.concat([
      clientFrame(OP.text, fragment, false),
      ...Array.from({ length: 14 }, () => clientFrame(OP.cont, fragment, false)),
    ]);
    let connections = 0;
    // 20 concurrent connections per session (its limit), from 4 addresses (100 each, their limit).
    await ctx.workers(ids.length * 20, async (w) => {
      const n = await connectionLoop(ctx, ctx.ip(w % 4), `/s/${ids[w % ids.length]}/echo`, async (ws) => {
        ws.send(frames);
        ws.end();
        await Promise.race([ws.gone, ctx.sleep(2000)]);
      });
      connections += n;
    });
    ctx.note(`${connections} connections on ${ids.length} sessions`);
  },
};

/** Issue defect #8: 8 pings in flight on one connection, a new one for every pong. */
export const pingFlood: Attack = {
  name: 'ping-flood',
  title: 'one connection keeps 8 pings in flight (a new ping per pong), with a reading monitor',
  async run(ctx) {
    const id = await ctx.createSession(ctx.ip());
    if (!id) return ctx.note('no session');
    const monitor = await ctx.monitor(ctx.ip(), id);
    const ping = clientFrame(OP.ping, 'stress!!');
    let pongs = 0;
    let current: RawWs | null = null;
    const t0 = Date.now();
    const connections = await connectionLoop(
      ctx,
      ctx.ip(),
      `/s/${id}/echo`,
      async (ws) => {
        current = ws;
        for (let i = 0; i < 8; i++) ws.send(ping);
        await untilGone(ctx, ws);
      },
      {
        onFrame: (f) => {
          if (f.opcode !== OP.pong) return;
          pongs++;
          current?.send(ping);
        },
      },
    );
    monitor.destroy();
    const perSecond = pongs / ((Date.now() - t0) / 1000);
    ctx.note(`${Math.round(perSecond)} pongs/s, ${connections} connection(s)`);
    // Every frame a client sends counts against the session's 50 frames/s (burst 100): pongs far
    // beyond that mean pings escape the rate limit (issue 9, defect #8: 14,000 pongs/s).
    if (perSecond > 500) ctx.defect(`pings escape the rate limit: ${Math.round(perSecond)} pongs/s for one session`);
  },
};

/** Unsolicited pongs as fast as the socket takes them. */
export const pongFlood: Attack = {
  name: 'pong-flood',
  title: 'unsolicited pongs as fast as the server reads, 2 connections, with a reading monitor',
  async run(ctx) {
    const id = await ctx.createSession(ctx.ip());
    if (!id) return ctx.note('no session');
    const monitor = await ctx.monitor(ctx.ip(), id);
    const one = clientFrame(OP.pong, 'pong');
    const batch = Buffer.concat(Array.from({ length: 4096 }, () => one));
    let writes = 0;
    let connections = 0;
    await ctx.workers(2, async () => {
      const n = await connectionLoop(ctx, ctx.ip(), `/s/${id}/echo`, async (ws) => {
        const written = await pump(ctx, ws, batch);
        writes += written;
      });
      connections += n;
    });
    monitor.destroy();
    ctx.note(`${((writes * 4096) / 1e6).toFixed(1)} M pongs written, ${connections} connection(s)`);
    neverClosed(ctx, 'pongs', writes * 4096);
  },
};

/** Messages of ever more 1-byte fragments (maxFragments is 1024), and empty continuations. */
export const fragmentFlood: Attack = {
  name: 'fragment-flood',
  title: 'endless messages of 1-byte and empty fragments, 4 connections, with a reading monitor',
  async run(ctx) {
    const id = await ctx.createSession(ctx.ip());
    if (!id) return ctx.note('no session');
    const monitor = await ctx.monitor(ctx.ip(), id);
    const first = clientFrame(OP.text, 'a', false);
    const tiny = clientFrame(OP.cont, 'a', false);
    const empty = clientFrame(OP.cont, '', false);
    const batch = Buffer.concat(Array.from({ length: 8192 }, (_, i) => (i % 2 ? empty : tiny)));
    let writes = 0;
    let connections = 0;
    await ctx.workers(4, async () => {
      const n = await connectionLoop(ctx, ctx.ip(), `/s/${id}/echo`, async (ws) => {
        ws.send(first);
        const written = await pump(ctx, ws, batch);
        writes += written;
      });
      connections += n;
    });
    monitor.destroy();
    ctx.note(`${((writes * 8192) / 1e6).toFixed(1)} M fragments written, ${connections} connections`);
    neverClosed(ctx, 'fragments', writes * 8192);
  },
};

/** Small whole messages as fast as possible (the rate is 50/s, burst 100). */
export const messageFlood: Attack = {
  name: 'message-flood',
  title: 'small text messages as fast as the server reads, 4 connections, reconnecting, with a reading monitor',
  async run(ctx) {
    const id = await ctx.createSession(ctx.ip());
    if (!id) return ctx.note('no session');
    const monitor = await ctx.monitor(ctx.ip(), id);
    const batch = Buffer.concat(Array.from({ length: 8192 }, () => clientFrame(OP.text, 'x')));
    let writes = 0;
    let connections = 0;
    await ctx.workers(4, async () => {
      const n = await connectionLoop(ctx, ctx.ip(), `/s/${id}/echo`, async (ws) => {
        const written = await pump(ctx, ws, batch);
        writes += written;
      });
      connections += n;
    });
    monitor.destroy();
    ctx.note(`${((writes * 8192) / 1e6).toFixed(1)} M messages written, ${connections} connections`);
    neverClosed(ctx, 'messages', writes * 8192);
  },
};
