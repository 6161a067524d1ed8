// Peers that never read: monitors that never read their events while the session's traffic is
// pumped, and learner clients that send but never read their echoes.
import type { Attack, AttackContext, RawWs } from '../context.ts';
import { clientFrame, OP } from '../raw.ts';
import { costlyText } from './ws-floods.ts';

/** The most monitor bytes per message: 60 KiB of two-byte and control characters. */
const costly = clientFrame(OP.text, costlyText(60 * 1024));
/** Under the 50 messages/s session rate, so the server keeps the connection. */
const PER_SECOND = 40;

/** Sends `costly` at PER_SECOND on `ws` until the deadline (writes wait for the socket to drain). */
async function pumpRated(ctx: AttackContext, ws: RawWs): Promise<number> {
  let sent = 0;
  const t0 = Date.now();
  while (ctx.running && ws.open) {
    const due = Math.floor(((Date.now() - t0) / 1000) * PER_SECOND) + 1;
    while (sent < due && ws.open) {
      sent++;
      if (!ws.send(costly)) await ws.drained();
    }
    await ctx.sleep(25);
  }
  return sent;
}

export const neverReadingMonitors: Attack = {
  name: 'never-reading-monitors',
  title: '20 sessions × 4 monitors that never read, while each session echoes 60 KiB costly text at 40 msg/s',
  async run(ctx) {
    const ids = await ctx.createSessions(ctx.ip(), 20);
    if (ids.length === 0) return ctx.note('no session');
    for (const id of ids) for (let m = 0; m < 4 && ctx.running; m++) await ctx.monitor(ctx.ip(1), id, { read: false });
    let sent = 0;
    await ctx.workers(ids.length, async (w) => {
      // The learner client reads its echoes: only the monitors are stuck.
      const ws = await ctx.ws(ctx.ip(2), `/s/${ids[w]}/echo`, { keep: 0 });
      if (!ws.open) return;
      const n = await pumpRated(ctx, ws);
      sent += n;
    });
    ctx.note(`${sent} messages of 60 KiB echoed on ${ids.length} sessions`);
  },
};

export const neverReadingClients: Attack = {
  name: 'never-reading-clients',
  title: '20 sessions, an echo client each sending 60 KiB costly text at 40 msg/s and never reading; a reading monitor per session',
  async run(ctx) {
    const ids = await ctx.createSessions(ctx.ip(), 20);
    if (ids.length === 0) return ctx.note('no session');
    for (const id of ids) if (ctx.running) await ctx.monitor(ctx.ip(1), id);
    let sent = 0;
    let connections = 0;
    await ctx.workers(ids.length, async (w) => {
      // A client the server cuts comes back at once, as a careless script would.
      while (ctx.running) {
        const ws = await ctx.ws(ctx.ip(2), `/s/${ids[w]}/echo`, { pauseAfterOpen: true });
        if (!ws.open) {
          ws.destroy();
          await ctx.sleep(100);
          continue;
        }
        connections++;
        const n = await pumpRated(ctx, ws);
        sent += n;
        ws.destroy();
      }
    });
    ctx.note(`${sent} messages of 60 KiB sent on ${ids.length} sessions over ${connections} connections, echoes never read`);
  },
};
