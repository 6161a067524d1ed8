// Browser part of the benchmark: the production server (scripts/start.ts: builds dist/ with
// `npx astro build` when it is missing or stale, then runs sandbox-server/main.ts) on a free port
// from 4620, driven by Playwright with Debian's /usr/bin/chromium (headless).
//   (a) « Exécuter » → first frame line (▸) drawn in the xterm.js rows: page-side probe
//       (performance.now() at the click, MutationObserver on .xterm-rows), on a fresh page (first
//       run after the playground became ready) and repeated on one page. Breakdown from the
//       playground's own marks: performance.mark('aw:run-posted') (code posted into the sandboxed
//       iframe) and 'aw:first-frame' (first frame line written to the terminal, before xterm.js
//       renders it), plus the monitor's conn-open and client frame events.
//   (b) JavaScript requested by a playground lesson before any interaction (no scrolling), minus
//       Pagefind; each file re-fetched with Accept-Encoding: gzip, compressed bytes counted.
//   (c) Monaco requested → ready: the learner's first focus in the code's textarea (Monaco loads
//       only then) → `.monaco-editor` present and the textarea hidden, on fresh browser contexts
//       (cold HTTP cache), the playground scrolled into view and ready before.
import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { fmt, percentile, ROOT, sleep } from './lib.ts';

const LESSON = '/fondations/api-websocket/';
const RUNS = 20;
const FRESH_PAGES = 6;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function startProduction(log: (s: string) => void): Promise<{ proc: ChildProcess; base: string; built: boolean }> {
  let port = 4620;
  while (!(await portFree(port))) if (++port > 4680) throw new Error('no free port in 4620–4680');
  const proc = spawn(process.execPath, [join(ROOT, 'scripts/start.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  process.on('exit', () => proc.exitCode === null && proc.kill('SIGKILL'));
  let out = '';
  let built = false;
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`production server not up after 300 s:\n${out.slice(-2000)}`)), 300_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/reconstruction|Première construction/.test(out)) built = true;
      const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`production server exited (${code}):\n${out.slice(-2000)}`)));
  });
  log(
    `   server: node scripts/start.ts on ${base}${built ? ' (dist/ was stale: rebuilt with npx astro build first)' : ' (dist/ up to date)'}`,
  );
  return { proc, base, built };
}

/** Bytes on the wire of `url` when the client accepts only gzip. */
function gzipBytes(url: string): Promise<{ bytes: number; encoding: string }> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ bytes, encoding: String(res.headers['content-encoding'] ?? 'identity') }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

export const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Installs nothing in the page: one evaluate per measure. Resolves ms from click to the first ▸ row. */
interface RunTiming {
  /** Click → code posted into the sandboxed iframe, → conn-open event received, → client frame event received, → first frame line written, → ▸ row drawn. */
  posted: number;
  connOpen: number;
  frameEvent: number;
  written: number;
  drawn: number;
}

async function timeRun(page: Page): Promise<RunTiming> {
  // Start from a terminal without frame lines (previous run stopped and cleared).
  await page.evaluate(async () => {
    const el = document.querySelector('aw-playground')!;
    const stop = el.querySelector<HTMLButtonElement>('[data-action=stop]')!;
    if (!stop.disabled) stop.click();
    await new Promise((r) => setTimeout(r, 300));
    el.querySelector<HTMLButtonElement>('[data-action=clear]')!.click();
    const rows = el.querySelector('.xterm-rows')!;
    const run = el.querySelector<HTMLButtonElement>('[data-action=run]')!;
    const deadline = performance.now() + 5000;
    while ((rows.textContent!.includes('▸') || run.disabled) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  });
  return page.evaluate(
    () =>
      new Promise<RunTiming>((resolve, reject) => {
        const el = document.querySelector('aw-playground')! as HTMLElement & {
          session: { onEvent(l: (e: { type: string; from?: string }) => void): () => void };
        };
        const rows = el.querySelector('.xterm-rows')!;
        if (rows.textContent!.includes('▸')) return reject(new Error('terminal not cleared'));
        let t0 = 0;
        const marks = { posted: NaN, connOpen: NaN, frameEvent: NaN, written: NaN, drawn: NaN };
        const mark = (name: string) => {
          const e = performance.getEntriesByName(name, 'mark').filter((m) => m.startTime >= t0);
          return e.length ? e[0].startTime - t0 : NaN;
        };
        // Read-only listeners: the element's session client (a private field at type level only) and the DOM.
        const off = el.session.onEvent((e) => {
          if (e.type === 'conn-open' && Number.isNaN(marks.connOpen)) marks.connOpen = performance.now() - t0;
          if (e.type === 'frame' && e.from === 'client' && Number.isNaN(marks.frameEvent)) marks.frameEvent = performance.now() - t0;
        });
        const mo = new MutationObserver(() => {
          if (!rows.textContent!.includes('▸')) return;
          marks.drawn = performance.now() - t0;
          marks.posted = mark('aw:run-posted');
          marks.written = mark('aw:first-frame');
          mo.disconnect();
          off();
          clearTimeout(timer);
          resolve(marks);
        });
        mo.observe(rows, { subtree: true, childList: true, characterData: true });
        const timer = setTimeout(() => {
          mo.disconnect();
          off();
          reject(new Error('no frame line within 10 s'));
        }, 10_000);
        t0 = performance.now();
        el.querySelector<HTMLButtonElement>('[data-action=run]')!.click();
      }),
  );
}

/** Focuses the code's textarea, as a learner starting to edit; ms until Monaco is ready (.monaco-editor present, textarea hidden). */
async function timeMonaco(page: Page): Promise<number> {
  await page.locator('aw-playground').first().scrollIntoViewIfNeeded();
  await page.locator('aw-playground[data-ready="true"]').waitFor({ timeout: 30_000 });
  return page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const el = document.querySelector('aw-playground')!;
        const textarea = el.querySelector<HTMLTextAreaElement>('.aw-pg-textarea')!;
        if (el.querySelector('.monaco-editor')) return reject(new Error('Monaco already loaded before the learner edits'));
        const t0 = performance.now();
        const done = () => {
          if (!el.querySelector('.monaco-editor') || !textarea.hidden) return;
          mo.disconnect();
          clearTimeout(timer);
          resolve(performance.now() - t0);
        };
        const mo = new MutationObserver(done);
        mo.observe(el, { subtree: true, childList: true, attributes: true, attributeFilter: ['hidden'] });
        const timer = setTimeout(() => {
          mo.disconnect();
          reject(new Error('Monaco not ready within 30 s'));
        }, 30_000);
        textarea.focus();
      }),
  );
}

export interface BrowserResults {
  run: { p50: number; p95: number; n: number };
  coldRun: { p50: number; n: number };
  js: { gzip: number; files: { path: string; gzip: number; raw: number }[] };
  monaco: { p50: number; n: number };
}

export async function browserBench(log: (s: string) => void): Promise<BrowserResults> {
  const server = await startProduction(log);
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: ARGS });
    const url = server.base + LESSON;

    // (b) JavaScript on load, before any interaction.
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await ctx.newPage();
    const scripts = new Map<string, { raw: number; pagefind: boolean }>();
    page.on('response', async (res) => {
      const type = res.request().resourceType();
      const ct = res.headers()['content-type'] ?? '';
      if (type === 'script' || /javascript/.test(ct) || /\.m?js(\?|$)/.test(res.url())) {
        const body = await res.body().catch(() => Buffer.alloc(0));
        // Pagefind: its own files, or the chunk of its UI that Starlight's search imports at idle time.
        const pagefind = new URL(res.url()).pathname.startsWith('/pagefind/') || body.includes('pagefind-ui__');
        scripts.set(res.url(), { raw: body.length, pagefind });
      }
    });
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForLoadState('networkidle');
    await sleep(2000); // idle-time loads (Pagefind) happen here; they are listed, then excluded
    const heavyLoaded = await page.evaluate(() => !!document.querySelector('aw-playground .monaco-editor'));
    const files: { path: string; gzip: number; raw: number }[] = [];
    const excluded: string[] = [];
    for (const [u, { raw, pagefind }] of scripts) {
      const path = new URL(u).pathname;
      const g = await gzipBytes(u);
      if (pagefind) {
        excluded.push(`${path} (${fmt(g.bytes)} B gzip)`);
        continue;
      }
      files.push({ path: path + (g.encoding === 'gzip' ? '' : ` [${g.encoding}]`), gzip: g.bytes, raw });
    }
    await ctx.close();
    const gzip = files.reduce((a, f) => a + f.gzip, 0);
    log(`   (b) JS requested on load of ${LESSON} (1280×720, no scroll; playground heavy parts loaded: ${heavyLoaded ? 'YES' : 'no'}):`);
    for (const f of files.sort((a, b) => b.gzip - a.gzip))
      log(`       ${fmt(f.gzip).padStart(7)} B gzip (${fmt(f.raw).padStart(7)} B raw)  ${f.path}`);
    log(
      `       total ${fmt(gzip)} B gzip = ${fmt(gzip / 1024, 1)} KiB in ${files.length} files; excluded as Pagefind (idle-loaded search UI): ${excluded.length ? excluded.join(', ') : 'none requested'}`,
    );

    // (c) Monaco requested → ready on fresh contexts, then (a) the first run on that fresh page.
    const monaco: number[] = [];
    const cold: number[] = [];
    const coldMarks: RunTiming[] = [];
    let last: Page | null = null;
    for (let i = 0; i < FRESH_PAGES; i++) {
      const c = await browser.newContext({ viewport: { width: 1280, height: 720 } });
      const p = await c.newPage();
      await p.goto(url, { waitUntil: 'load' });
      await p.waitForLoadState('networkidle');
      monaco.push(await timeMonaco(p));
      await p.locator('aw-playground[data-ready="true"]').waitFor({ timeout: 30_000 });
      const m = await timeRun(p);
      coldMarks.push(m);
      cold.push(m.drawn);
      if (last) await last.context().close();
      last = p;
    }
    monaco.sort((a, b) => a - b);
    cold.sort((a, b) => a - b);
    log(
      `   (c) Monaco first focus in the code → ready, ${FRESH_PAGES} fresh contexts: ${monaco.map((x) => fmt(x)).join(', ')} ms → p50 ${fmt(percentile(monaco, 50))} ms`,
    );

    // (a) Repeated runs on the last page (session and monitor reused).
    const warm: number[] = [];
    const warmMarks: RunTiming[] = [];
    for (let i = 0; i < RUNS; i++) {
      const m = await timeRun(last!);
      warmMarks.push(m);
      warm.push(m.drawn);
    }
    const med = (ms: RunTiming[], k: keyof RunTiming) =>
      fmt(
        percentile(
          ms.map((m) => m[k]).sort((a, b) => a - b),
          50,
        ),
        1,
      );
    const breakdown = (ms: RunTiming[]) =>
      `medians from the click: code posted into the sandboxed iframe ${med(ms, 'posted')} ms, conn-open event in the page ${med(ms, 'connOpen')} ms, ` +
      `client frame event in the page ${med(ms, 'frameEvent')} ms, first frame line written ${med(ms, 'written')} ms, ▸ row drawn ${med(ms, 'drawn')} ms`;
    await last!.evaluate(() => document.querySelector<HTMLButtonElement>('aw-playground [data-action=stop]')?.click());
    await last!.context().close();
    warm.sort((a, b) => a - b);
    log(
      `   (a) « Exécuter » → first frame line in the terminal, ${RUNS} repeated runs on one page: p50 ${fmt(percentile(warm, 50), 1)} ms, ` +
        `p95 ${fmt(percentile(warm, 95), 1)} ms, min ${fmt(warm[0], 1)}, max ${fmt(warm[warm.length - 1], 1)} ms`,
    );
    log(`       ${breakdown(warmMarks)}`);
    log(
      `       first run on a fresh page (session, monitor and spare iframe prepared when the playground became ready), ${FRESH_PAGES} pages: ${cold.map((x) => fmt(x, 1)).join(', ')} ms → p50 ${fmt(percentile(cold, 50), 1)} ms`,
    );
    log(`       ${breakdown(coldMarks)}`);
    return {
      run: { p50: percentile(warm, 50), p95: percentile(warm, 95), n: warm.length },
      coldRun: { p50: percentile(cold, 50), n: cold.length },
      js: { gzip, files },
      monaco: { p50: percentile(monaco, 50), n: monaco.length },
    };
  } finally {
    await browser?.close();
    const exited = new Promise((r) => server.proc.once('exit', r));
    server.proc.kill('SIGTERM');
    const t = setTimeout(() => server.proc.kill('SIGKILL'), 6000);
    await exited;
    clearTimeout(t);
  }
}
