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
      ctx.defect(
        `locked out: no session ${waited.toFixed(1)} s after the cap was filled with sessions unused since (abandoned after ${ABANDONED_MS / 1000} s)`,
      );
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
 * B's request goes to a path that is unique per round, so its 404 body names it. Five pairs of
 * sessions, one triple every 25 ms: each session then sees 8 new connections a second, under the
 * per-session rate of new connections, so the requests are answered rather than refused.
 */
export const pipelining: Attack = {
  name: 'pipelining',
  title: 'requests of two sessions pipelined on one TCP connection (A, B, A / B, A, B), 5 pairs; checks neither monitor shows the other',
  async run(ctx) {
    const ip = ctx.ip();
    const ids = await ctx.createSessions(ip, 10);
    if (ids.length < 2) return ctx.note('no session');
    const leaks: string[] = [];
    const watch = (label: string, other: string, marker: string) => (text: string) => {
      if ((text.includes(other) || text.includes(marker)) && leaks.length < 3) leaks.push(`${label}'s monitor: ${text.slice(0, 160)}`);
    };
    const pairs: [string, string][] = [];
    for (let p = 0; p + 1 < ids.length; p += 2) {
      const [a, b] = [ids[p], ids[p + 1]];
      await ctx.monitor(ip, a, { onText: watch(`A${p / 2}`, b, `zzB${p / 2}-`) });
      await ctx.monitor(ip, b, { onText: watch(`B${p / 2}`, a, `zzA${p / 2}-`) });
      pairs.push([a, b]);
    }
    let rounds = 0;
    let answered = 0;
    while (ctx.running) {
      const p = rounds % pairs.length;
      const [a, b] = pairs[p];
      const swap = Math.floor(rounds / pairs.length) % 2 === 1;
      const [first, second] = swap ? [b, a] : [a, b];
      const [mark1, mark2] = swap ? [`zzB${p}-`, `zzA${p}-`] : [`zzA${p}-`, `zzB${p}-`];
      const conn = ctx.http(ip);
      const got = [
        conn.request('GET', `/s/${first}/match/poll?client=P1`),
        conn.request('GET', `/s/${second}/${mark2}${rounds}`),
        conn.request('GET', `/s/${first}/${mark1}${rounds}`),
      ];
      const responses = await Promise.all(got);
      for (const r of responses) if (r) ctx.answer(`http ${r.status}`);
      if (responses.every((r) => r && r.status !== 429)) answered++;
      conn.close();
      rounds++;
      await ctx.sleep(25);
    }
    // Events of the last rounds are still on their way to the monitors.
    await new Promise((r) => setTimeout(r, 300));
    ctx.note(`${rounds} pipelined triples, ${answered} with no request refused`);
    for (const leak of leaks) ctx.defect(leak);
  },
};
