// Relay round trip in Chromium (issue 11): the learner's echo server runs in the real browser
// Worker of a lesson's server playground (/production/securite/, `verifier-origin`), the sandbox
// relays each client frame to it over the host channel and sends its reply. An external Node `ws`
// client (this process) sends N 32-byte text messages one at a time and measures the wall time of
// send → reply. The same client does the same against the built-in `echo` scenario of a normal
// session (with a monitor reading its events, as the page's monitor reads the learner session's),
// in interleaved blocks so that a drift of the machine's load touches both. A third series, for
// the breakdown, relays to a host in Node (this process, the same façade runtime) instead of the
// browser Worker.
// The production server runs with its default limits (50 messages/s per session): the client
// waits GAP_MS after each reply, which keeps it under that rate.
import type { ChildProcess } from 'node:child_process';
import { chromium, type Browser } from '@playwright/test';
import type WebSocket from 'ws';
import { ARGS, startProduction } from './browser.ts';
import { fmt, openWs, percentile } from './lib.ts';
import { ECHO_SERVER_CODE, openRelayHost } from './relay-host.ts';

const LESSON = '/production/securite/';
const ID = 'verifier-origin';
const N = Number(process.env.BENCH_RELAY_RTT_MESSAGES ?? 500);
const WARMUP = 30;
const BLOCK = 50;
const GAP_MS = 25;

export interface RoundTrips {
  p50: number;
  p99: number;
  max: number;
  mean: number;
  n: number;
}

export interface RelayBrowserResults {
  relay: RoundTrips;
  echo: RoundTrips;
  nodeHost: RoundTrips;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `count` messages one at a time on `ws`; pushes each send → reply time (ms) into `out`. */
async function roundTrips(ws: WebSocket, count: number, tag: string, out: number[] | null): Promise<void> {
  for (let i = 0; i < count; i++) {
    const text = `${tag}${i}:`.padEnd(32, '.'); // 32 bytes
    const t = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${text} within 5 s`)), 5000);
      ws.once('message', (data, isBinary) => {
        const dt = performance.now() - t0;
        clearTimeout(timer);
        if (isBinary || data.toString() !== text) reject(new Error(`unexpected reply ${data.toString().slice(0, 60)} to ${text}`));
        else resolve(dt);
      });
      const t0 = performance.now();
      ws.send(text);
    });
    out?.push(t);
    await sleep(GAP_MS);
  }
}

function summary(xs: number[]): RoundTrips {
  const s = [...xs].sort((a, b) => a - b);
  return {
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? NaN,
    mean: s.reduce((a, b) => a + b, 0) / (s.length || 1),
    n: s.length,
  };
}

async function stopServer(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 6000);
  await exited;
  clearTimeout(t);
}

export async function relayBrowserBench(log: (s: string) => void): Promise<RelayBrowserResults> {
  const server = await startProduction(log);
  let browser: Browser | null = null;
  const sockets: WebSocket[] = [];
  try {
    const host = server.base.replace(/^http/, 'ws');
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: ARGS });
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(server.base + LESSON, { waitUntil: 'load' });
    const pg = page.locator(`aw-playground[data-id="${ID}"]`);
    await pg.scrollIntoViewIfNeeded();
    await page.locator(`aw-playground[data-id="${ID}"][data-ready="true"]`).waitFor({ timeout: 30_000 });
    await pg.evaluate((el, code) => (el as HTMLElement & { setServerCode(c: string): void }).setServerCode(code), ECHO_SERVER_CODE);
    await pg.getByRole('button', { name: 'Exécuter' }).click();
    // The session id, from the terminal's first request line (the lesson's client connects once the server runs).
    let id = '';
    const deadline = performance.now() + 30_000;
    while (!id && performance.now() < deadline) {
      const text = await pg.evaluate((el) => (el as HTMLElement & { terminalText(): string }).terminalText());
      id = /GET \/s\/([^/ ]+)\//.exec(text)?.[1] ?? '';
      if (!id) await sleep(100);
    }
    if (!id) throw new Error('no request line in the terminal within 30 s: the learner server did not start');
    const relay = await openWs(`${host}/s/${id}/bench-relay`, 10_000);
    sockets.push(relay);

    // The built-in echo scenario in a normal session, with a monitor reading every event.
    const res = await fetch(`${server.base}/api/sessions`, { method: 'POST' });
    if (res.status !== 201) throw new Error(`POST /api/sessions → ${res.status}`);
    const echoId = ((await res.json()) as { id: string }).id;
    const monitor = await openWs(`${host}/api/sessions/${echoId}/monitor`, 10_000);
    let monitorEvents = 0;
    monitor.on('message', () => monitorEvents++);
    sockets.push(monitor);
    const echo = await openWs(`${host}/s/${echoId}/echo`, 10_000);
    sockets.push(echo);

    // For the breakdown: the same echo server relayed to a host in Node (this process, the same
    // façade runtime), on the same production server.
    const quiet = { log() {}, info() {}, warn() {}, error: (...a: unknown[]) => log(`   node host error: ${a.join(' ')}`) };
    const nodeHost = await openRelayHost(server.base.replace(/^http:\/\//, ''), ECHO_SERVER_CODE, quiet);
    sockets.push(nodeHost.ws);
    const viaNode = await openWs(`${host}/s/${nodeHost.id}/bench-relay`, 10_000);
    sockets.push(viaNode);

    await roundTrips(relay, WARMUP, 'w', null);
    await roundTrips(echo, WARMUP, 'w', null);
    await roundTrips(viaNode, WARMUP, 'w', null);
    const r: number[] = [];
    const e: number[] = [];
    const h: number[] = [];
    for (let done = 0; done < N; done += BLOCK) {
      const n = Math.min(BLOCK, N - done);
      await roundTrips(relay, n, `r${done}-`, r);
      await roundTrips(echo, n, `e${done}-`, e);
      await roundTrips(viaNode, n, `h${done}-`, h);
    }
    const serverConsole = await pg
      .getByRole('log', { name: 'Console du serveur' })
      .textContent()
      .catch(() => '');
    const result = { relay: summary(r), echo: summary(e), nodeHost: summary(h) };
    const line = (name: string, x: RoundTrips) =>
      `   ${name}: p50 ${fmt(x.p50, 2)} ms, p99 ${fmt(x.p99, 2)} ms, max ${fmt(x.max, 2)} ms (mean ${fmt(x.mean, 2)} ms, n=${x.n})`;
    log(
      `   session ${id} (learner server in the page's Worker), echo session ${echoId} (built-in scenario, ${monitorEvents} monitor events read)`,
    );
    log(line("relayed, learner's echo server in Chromium's Worker", result.relay));
    log(line('built-in echo scenario, same client', result.echo));
    log(line('for the breakdown: relayed to a host in Node (this process, same façade runtime)', result.nodeHost));
    log(
      `   relay − built-in: p50 +${fmt(result.relay.p50 - result.echo.p50, 2)} ms, p99 +${fmt(result.relay.p99 - result.echo.p99, 2)} ms`,
    );
    if (pageErrors.length) log(`   page errors: ${pageErrors.slice(0, 3).join(' | ')}`);
    if (serverConsole && /erreur|error/i.test(serverConsole)) log(`   server console: ${serverConsole.slice(0, 300)}`);
    return result;
  } finally {
    for (const ws of sockets) ws.terminate();
    await browser?.close();
    await stopServer(server.proc);
  }
}
