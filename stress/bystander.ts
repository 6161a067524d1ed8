// The bystander: an ordinary learner, in its own process so that the attack client's busy event
// loop does not add to the latency it measures. One session from its own address (127.0.0.2),
// a monitor that reads everything (as the course page does) and an echo WebSocket sending a
// small text message every 50 ms (20/s, under the 50/s session rate). The parent asks for the
// echo round-trip statistics of each attack window.
//
// Parent → child: {cmd:'connect', port} | {cmd:'window'} (start a window) | {cmd:'stats'} | {cmd:'stop'}
// Child → parent: {type:'ready'} | {type:'error', message} | {type:'stats', ...WindowStats}
import { request } from 'node:http';
import WebSocket from 'ws';

export interface WindowStats {
  /** Echoes measured in the window. */
  count: number;
  p50: number;
  p99: number;
  max: number;
  /** Messages not echoed after 1 s (counted in p99 with their age). */
  late: number;
  /** Messages that could not be sent because the echo socket was down. */
  unsent: number;
  /** What went wrong (closes, reconnects). */
  problems: string[];
  /** Monitor events received in the window. */
  monitorEvents: number;
}

const ADDRESS = '127.0.0.2';
const EVERY_MS = 50;

let port = 0;
let session: string | null = null;
let echo: WebSocket | null = null;
let monitor: WebSocket | null = null;
let seq = 0;
const inFlight = new Map<number, number>();
let samples: number[] = [];
let unsent = 0;
let monitorEvents = 0;
let problems: string[] = [];
let ticker: NodeJS.Timeout | null = null;
let reconnecting = false;

function problem(text: string): void {
  if (problems.length < 8 && !problems.includes(text)) problems.push(text);
}

function createSession(): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, localAddress: ADDRESS, method: 'POST', path: '/api/sessions', agent: false, timeout: 5000 },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () =>
          res.statusCode === 201
            ? resolve((JSON.parse(body) as { id: string }).id)
            : reject(new Error(`POST /api/sessions → ${res.statusCode}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('POST /api/sessions: timeout')));
    req.on('error', reject);
    req.end();
  });
}

function open(path: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { localAddress: ADDRESS, handshakeTimeout: 5000 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`${path.split('/').at(-1)}: HTTP ${res.statusCode}`)));
  });
}

async function connectAll(): Promise<void> {
  // Old sockets go quietly: their close must not schedule another reconnect.
  for (const ws of [echo, monitor]) {
    ws?.removeAllListeners('close');
    ws?.terminate();
  }
  echo = monitor = null;
  inFlight.clear();
  try {
    session ??= await createSession();
    monitor = await open(`/api/sessions/${session}/monitor`);
  } catch (err) {
    // The session may be gone with a restarted server: a new one.
    session = await createSession();
    monitor = await open(`/api/sessions/${session}/monitor`);
    void err;
  }
  monitor.on('message', () => monitorEvents++);
  monitor.on('close', (code) => {
    problem(`monitor closed ${code}`);
    scheduleReconnect();
  });
  monitor.on('error', () => {});
  echo = await open(`/s/${session}/echo?client=by`);
  echo.on('message', (data) => {
    const n = Number(data.toString());
    const sent = inFlight.get(n);
    if (sent === undefined) return;
    inFlight.delete(n);
    samples.push(performance.now() - sent);
  });
  echo.on('close', (code) => {
    problem(`echo closed ${code}`);
    scheduleReconnect();
  });
  echo.on('error', () => {});
}

function scheduleReconnect(): void {
  if (reconnecting) return;
  reconnecting = true;
  setTimeout(async () => {
    try {
      await connectAll();
    } catch (err) {
      problem(`reconnect failed: ${(err as Error).message}`);
    }
    reconnecting = false;
  }, 250);
}

function tick(): void {
  if (!echo || echo.readyState !== WebSocket.OPEN) {
    unsent++;
    return;
  }
  const n = ++seq;
  inFlight.set(n, performance.now());
  echo.send(String(n));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function stats(): WindowStats {
  const now = performance.now();
  const all = samples.slice();
  let late = 0;
  for (const [n, sent] of inFlight) {
    const age = now - sent;
    // Still in flight for a second: count it as late, with its age, and stop waiting for it.
    if (age >= 1000) {
      late++;
      all.push(age);
      inFlight.delete(n);
    }
  }
  all.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    count: all.length,
    p50: round(percentile(all, 50)),
    p99: round(percentile(all, 99)),
    max: round(all.at(-1) ?? 0),
    late,
    unsent,
    problems,
    monitorEvents,
  };
}

function resetWindow(): void {
  samples = [];
  unsent = 0;
  monitorEvents = 0;
  problems = [];
}

process.on('message', async (msg: { cmd: string; port?: number }) => {
  if (msg.cmd === 'connect') {
    port = msg.port!;
    session = null;
    try {
      await connectAll();
      ticker ??= setInterval(tick, EVERY_MS);
      process.send!({ type: 'ready' });
    } catch (err) {
      process.send!({ type: 'error', message: (err as Error).message });
    }
  } else if (msg.cmd === 'window') {
    resetWindow();
  } else if (msg.cmd === 'stats') {
    process.send!({ type: 'stats', ...stats() });
  } else if (msg.cmd === 'stop') {
    if (ticker) clearInterval(ticker);
    echo?.terminate();
    monitor?.terminate();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
