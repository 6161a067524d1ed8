// HTTP feed floods: Server-Sent Events streams (half never read) and long polls re-issued at once,
// on the fastest feed pace a query may ask for (interval=50 ms), from several addresses.
import type { Socket } from 'node:net';
import type { Attack, AttackContext } from '../context.ts';
import { requestBytes } from '../context.ts';

/** Sessions for `addresses` addresses, `perAddress` each. */
async function sessionsFrom(ctx: AttackContext, addresses: number, perAddress: number): Promise<{ ip: string; id: string }[]> {
  const out: { ip: string; id: string }[] = [];
  for (let k = 0; k < addresses; k++) for (const id of await ctx.createSessions(ctx.ip(k), perAddress)) out.push({ ip: ctx.ip(k), id });
  return out;
}

export const sseFlood: Attack = {
  name: 'sse-flood',
  title: 'SSE `match/events?interval=50` streams: 5 IPs × 5 sessions × 20 streams (short: 2 IPs), half never read',
  async run(ctx) {
    const sessions = await sessionsFrom(ctx, ctx.scaled(5, 2), 5);
    const streams: Socket[] = [];
    let bytes = 0;
    for (const { ip, id } of sessions) {
      for (let i = 0; i < 20 && ctx.running; i++) {
        const s = ctx.dial(ip);
        s.write(requestBytes('GET', `/s/${id}/match/events?interval=50`));
        const reading = i % 2 === 0;
        s.once('data', (d: Buffer) => {
          const m = /^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1', 0, 16));
          ctx.answer(m ? `http ${m[1]}` : 'data');
          bytes += d.length;
          if (reading) s.on('data', (more: Buffer) => (bytes += more.length));
          else s.pause(); // never read again: the server's writes pile up
        });
        streams.push(s);
      }
    }
    while (ctx.running) await ctx.sleep(250);
    const open = streams.filter((s) => !s.destroyed).length;
    ctx.note(`${streams.length} streams on ${sessions.length} sessions, ${open} open at the end, ${(bytes / 1e6).toFixed(1)} MB read`);
  },
};

export const longPollFlood: Attack = {
  name: 'long-poll-flood',
  title: 'long polls `match/poll?wait=1&interval=50` re-issued at once: 5 IPs × 5 sessions × 20 keep-alive connections (short: 2 IPs)',
  async run(ctx) {
    const sessions = await sessionsFrom(ctx, ctx.scaled(5, 2), 5);
    let answered = 0;
    await ctx.workers(sessions.length * 20, async (w) => {
      const { ip, id } = sessions[w % sessions.length];
      let conn = ctx.http(ip);
      while (ctx.running) {
        if (!conn.alive) {
          await ctx.sleep(100);
          conn = ctx.http(ip);
        }
        const res = await conn.request('GET', `/s/${id}/match/poll?wait=1&interval=50`);
        if (!res) continue;
        answered++;
        ctx.answer(`http ${res.status}`);
        if (res.status === 429) await ctx.sleep(250);
      }
    });
    ctx.note(`${answered} polls answered on ${sessions.length} sessions`);
  },
};
