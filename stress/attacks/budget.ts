// The server-wide memory budget: per-IP limits do not bound an attacker with many addresses (a
// botnet, an IPv6 prefix, everyone behind one proxy before X-Forwarded-For is trusted), so every
// session's backlog full at once must still fit. Loopback gives us the addresses.
import type { Attack } from '../context.ts';
import { clientFrame, OP } from '../raw.ts';
import { costlyText } from './ws-floods.ts';

/** 4 KiB of costly text: its monitor event is as large as an event may be (payload capture cut). */
const message = clientFrame(OP.text, costlyText(4096));

export const manyIpBacklogs: Attack = {
  name: 'many-ip-backlogs',
  title:
    '40 IPs × 20 sessions (short: 10 IPs), no monitor, each echoing 70 then 4/s messages of 4 KiB costly text: every backlog full at once',
  async run(ctx) {
    const addresses = ctx.scaled(40, 10);
    const sessions: { ip: string; id: string }[] = [];
    for (let k = 0; k < addresses && ctx.running; k++) {
      const ids = await Promise.all(Array.from({ length: 20 }, () => ctx.createSession(ctx.ip(k))));
      for (const id of ids) if (id) sessions.push({ ip: ctx.ip(k), id });
    }
    if (sessions.length === 0) return ctx.note('no session');
    let sent = 0;
    let connected = 0;
    await ctx.workers(sessions.length, async (w) => {
      const { ip, id } = sessions[w];
      const ws = await ctx.ws(ip, `/s/${id}/echo`, { keep: 0 });
      if (!ws.open) return;
      connected++;
      // 70 messages in 0.7 s (within the burst of 100): 140 events of the largest size, more than
      // a session's backlog holds; then 4 per second to keep every backlog full.
      for (let burst = 0; burst < 7 && ctx.running && ws.open; burst++) {
        for (let i = 0; i < 10; i++) ws.send(message);
        sent += 10;
        await ctx.sleep(100);
      }
      while (ctx.running && ws.open) {
        for (let i = 0; i < 4; i++) ws.send(message);
        sent += 4;
        await ctx.sleep(1000);
      }
    });
    ctx.note(`${sessions.length} sessions, ${connected} echo connections, ${sent} messages of 4 KiB`);
  },
};
