// The built site: folder redirects must stay on this host (defect #7 of issue 9), and a flood of
// page requests (compressed, conditional, misses) must not grow the server.
import type { Attack } from '../context.ts';

/** Paths of an existing folder written without its final slash, with tricks in front. */
const REDIRECT_PATHS = [
  '/.//fondations/api-websocket',
  '//fondations/api-websocket',
  '///fondations/api-websocket',
  '/%2F/fondations/api-websocket',
  '/.%2F%2Ffondations/api-websocket',
  '/\\fondations/api-websocket',
  '/./\\/fondations/api-websocket',
  '/fondations/api-websocket?next=//evil.example',
  '/fondations/./api-websocket',
  '/fondations/api-websocket/../api-websocket',
];

const PAGES = ['/', '/fondations/api-websocket/', '/fondations/poignee-de-main/', '/404.html'];

/** A Location that a browser would resolve to another host. */
export function foreignLocation(location: string): boolean {
  return /^\s*[/\\]{2}/.test(location) || /^\s*[a-z][a-z0-9+.-]*:/i.test(location) || /^\s*\/[/\\]/.test(location);
}

export const staticRedirect: Attack = {
  name: 'static-site',
  title:
    'folder redirects with `/.//`, `//`, `%2F`, `\\` prefixes (Location must stay on this host), then page requests and misses on 4 keep-alive connections',
  needsDist: true,
  async run(ctx) {
    const ip = ctx.ip();
    for (const path of REDIRECT_PATHS) {
      const res = await ctx.request(ip, 'GET', path);
      if (!res) continue;
      ctx.answer(`http ${res.status}`);
      const location = res.headers.location;
      if (location !== undefined && foreignLocation(location)) ctx.defect(`GET ${path} → ${res.status} Location: ${location}`);
    }
    let requests = 0;
    await ctx.workers(4, async (w) => {
      let conn = ctx.http(ctx.ip(1 + w));
      for (let i = 0; ctx.running; i++) {
        if (!conn.alive) conn = ctx.http(ctx.ip(1 + w));
        const miss = i % 3 === 2;
        const path = miss ? `/no/such/page-${w}-${i}` : PAGES[i % PAGES.length];
        const res = await conn.request('GET', path, { headers: { 'Accept-Encoding': i % 2 ? 'br' : 'gzip' } });
        requests++;
        if (res) ctx.answer(`http ${res.status}`);
        else break;
      }
    });
    ctx.note(`${requests} page requests`);
  },
};
