// Load client of the frame-to-monitor latency benchmark (its own process): S sessions, each with
// one monitor and 2 echo clients (A, B); every client sends one text message per second (random
// phase) carrying a unique id. The monitor reader, in this same process, takes the `frame` event
// of that client frame and computes now − send time (same clock: performance.now()).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { createSessions, monitorUrl, openWs, percentile, pool, procCpuSeconds, sleep } from './lib.ts';

const opts = JSON.parse(process.argv[2]) as {
  port: number;
  serverPid: number;
  /** Every server process whose CPU to report (a cluster: the instances and HAProxy); default [serverPid]. */
  serverPids?: number[];
  sessions: number;
  seconds: number;
  batch?: boolean;
};
const pids = opts.serverPids ?? [opts.serverPid];
const base = `127.0.0.1:${opts.port}`;

const open = (url: string) => openWs(url, 20_000);

const setupStart = performance.now();
const ids = await createSessions(base, opts.sessions);

const sentAt = new Map<string, number>();
const latencies: number[] = [];
let sent = 0;
let received = 0;
let unknown = 0;
let dropped = 0;
let limits = 0;
let measuring = false;

const monitors: WebSocket[] = [];
await pool(ids, 50, async (id) => {
  const m = await open(monitorUrl(base, id, opts.batch));
  m.on('message', (data) => {
    const now = performance.now();
    const parsed = JSON.parse(data.toString()) as Ev | Ev[];
    for (const e of Array.isArray(parsed) ? parsed : [parsed]) onEvent(e, now);
  });
  monitors.push(m);
});
type Ev = { type: string; from?: string; text?: string; count?: number };
function onEvent(e: Ev, now: number): void {
  if (e.type === 'frame' && e.from === 'client' && e.text?.startsWith('lat:')) {
    const t = sentAt.get(e.text);
    if (t === undefined) {
      unknown++;
      return;
    }
    sentAt.delete(e.text);
    received++;
    latencies.push(now - t);
  } else if (e.type === 'dropped') dropped += e.count ?? 0;
  else if (e.type === 'limit') limits++;
}
const clients: WebSocket[] = [];
const clientUrls = ids.flatMap((id) => [`ws://${base}/s/${id}/echo?client=A`, `ws://${base}/s/${id}/echo?client=B`]);
await pool(clientUrls, 50, async (url) => {
  const ws = await open(url);
  ws.on('message', () => {});
  clients.push(ws);
});
const setupSeconds = (performance.now() - setupStart) / 1000;

let counter = 0;
const timers: NodeJS.Timeout[] = [];
const c0 = process.cpuUsage();
const s0 = pids.map(procCpuSeconds);
measuring = true;
process.send?.({ type: 'measuring' });
const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();
for (const ws of clients) {
  const fire = () => {
    if (!measuring || ws.readyState !== WebSocket.OPEN) return;
    const key = `lat:${++counter}`;
    sentAt.set(key, performance.now());
    ws.send(key);
    sent++;
  };
  // Random phase, then one message per second.
  timers.push(
    setTimeout(() => {
      fire();
      timers.push(setInterval(fire, 1000));
    }, Math.random() * 1000),
  );
}
await sleep(opts.seconds * 1000);
measuring = false;
eld.disable();
process.send?.({ type: 'measured' });
for (const t of timers) clearTimeout(t);
const s1 = pids.map(procCpuSeconds);
const c1 = process.cpuUsage(c0);
// Stragglers: wait up to 5 s for the monitors to report what was sent.
for (let i = 0; i < 50 && received < sent; i++) await sleep(100);
latencies.sort((a, b) => a - b);
process.send?.({
  type: 'result',
  sessions: opts.sessions,
  sockets: monitors.length + clients.length,
  setupSeconds,
  seconds: opts.seconds,
  sent,
  received,
  lost: sent - received,
  unknown,
  dropped,
  limits,
  p50: percentile(latencies, 50),
  p99: percentile(latencies, 99),
  max: latencies[latencies.length - 1] ?? NaN,
  mean: latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1),
  serverCpuShare: (s1[0] - s0[0]) / opts.seconds,
  serverCpuShares: pids.map((_, i) => (s1[i] - s0[i]) / opts.seconds),
  clientLoopDelayP99: eld.percentile(99) / 1e6,
  clientLoopDelayMax: eld.max / 1e6,
  clientCpuShare: (c1.user + c1.system) / 1e6 / opts.seconds,
});
for (const ws of [...clients, ...monitors]) ws.terminate();
await sleep(300);
process.exit(0);
