// Session API attacks: lock-out at the per-IP cap, session floods, and requests of two sessions
// pipelined on one TCP connection.
import type { Attack } from '../context.ts';

/** A session unused this long may make room for a new one from the same address (sessions.ts). */
const ABANDONED_MS = 5000;

/**
 * Defect #3 of issue 9: the address's sessions fill the cap and are left alone (no monitor, no
 * connection: tabs the learner closed); then a POST every 3 s (1 s in short runs). Once the old
 * sessions are quiet for ABANDONED_MS, a POST must get a session; before the fix every refused
 * POST counted as activity on them and the learner was kept out for good.
 */
export const sessionLockout: Attack = {
  name: 'session-lockout',
  title: 'per-IP session cap filled with abandoned sessions, then POST /api/sessions every 3 s (short: 1 s): a learner must get one',
  minMs: 9000,
  async run(ctx) {
    const ip = ctx.ip();
    const ids = await ctx.createSessions(ip, 20);
    const filledAt = Date.now();
    const every = ctx.short ? 1000 : 3000;
    // The cap may be below 20: keep posting until refused so that the address is at its cap.
    let firstRefusal = 0;
    while (ctx.running && !firstRefusal && ids.length < 200) {
      const res = await ctx.request(ip, 'POST', '/api/sessions');
      if (!res) break;
      if (res.status === 201) ids.push('extra');
      else firstRefusal = Date.now();
      ctx.answer(`http ${res.status}`);
    }
    let admitted = 0;
    while (ctx.running && !admitted) {
      await ctx.sleep(every);
      if (!ctx.running) break;
      const res = await ctx.request(ip, 'POST', '/api/sessions');
      if (!res) continue;
      ctx.answer(`http ${res.status}`);
      if (res.status === 201) admitted = Date.now();
    }
    const waited = ((admitted || Date.now()) - filledAt) / 1000;
    if (admitted) ctx.note(`${ids.length} sessions filled the cap; a new one came ${waited.toFixed(1)} s after`);
    else if (Date.now() - filledAt >= ABANDONED_MS + 2 * every + 500) {
      ctx.defect(`locked out: no session ${waited.toFixed(1)} s after the cap was filled with sessions unused since (abandoned after ${ABANDONED_MS / 1000} s)`);
    } else ctx.note(`run too short to tell (${waited.toFixed(1)} s)`);
  },
};

/** POST /api/sessions as fast as the server answers, from one address, on 4 keep-alive connections. */
export const sessionFlood: Attack = {
  name: 'session-flood',
  title: 'POST /api/sessions as fast as answered from one IP, 4 keep-alive connections',
  async run(ctx) {
    let posts = 0;
    await ctx.workers(4, async () => {
      let conn = ctx.http(ctx.ip());
      while (ctx.running) {
        if (!conn.alive) conn = ctx.http(ctx.ip());
        const res = await conn.request('POST', '/api/sessions');
        posts++;
        if (res) ctx.answer(`http ${res.status}`);
      }
    });
    ctx.note(`${posts} POSTs`);
  },
};

/**
 * Defect #4 of issue 9: requests for sessions A and B pipelined on one TCP connection (A, B, A, or
 * B, A, B): the other session's request or response must never appear in a session's monitor.
 * B's request goes to a path that is unique per round, so its 404 body names it.
 */
export const pipelining: Attack = {
  name: 'pipelining',
  title: 'requests of two sessions pipelined on one TCP connection (A, B, A / B, A, B); checks neither monitor shows the other',
  async run(ctx) {
    const ip = ctx.ip();
    const [a, b] = await ctx.createSessions(ip, 2);
    if (!a || !b) return ctx.note('no session');
    const leaks: string[] = [];
    const watch = (self: string, other: string, marker: string) => (text: string) => {
      if ((text.includes(other) || text.includes(marker)) && leaks.length < 3) {
        leaks.push(`${self === a ? 'A' : 'B'}'s monitor: ${text.slice(0, 160)}`);
      }
    };
    const monA = await ctx.monitor(ip, a, { onText: watch(a, b, 'zzB') });
    const monB = await ctx.monitor(ip, b, { onText: watch(b, a, 'zzA') });
    let rounds = 0;
    while (ctx.running) {
      const [first, second] = rounds % 2 ? [b, a] : [a, b];
      const [mark1, mark2] = rounds % 2 ? ['zzB', 'zzA'] : ['zzA', 'zzB'];
      const conn = ctx.http(ip);
      const got = [
        conn.request('GET', `/s/${first}/match/poll?client=P1`),
        conn.request('GET', `/s/${second}/${mark2}${rounds}`),
        conn.request('GET', `/s/${first}/${mark1}${rounds}`),
      ];
      for (const r of await Promise.all(got)) if (r) ctx.answer(`http ${r.status}`);
      conn.close();
      rounds++;
      // A short pause: the server counts a connection until it sees it close (20 per session).
      await ctx.sleep(5);
    }
    // Events of the last rounds are still on their way to the monitors.
    await new Promise((r) => setTimeout(r, 300));
    monA.destroy();
    monB.destroy();
    ctx.note(`${rounds} pipelined triples`);
    for (const leak of leaks) ctx.defect(leak);
  },
};
