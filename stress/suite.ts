// The stress suite's runner: one real server process, one bystander learner, the attacks one
// after the other, each bounded in time; after each, a new learner must get a session that echoes.
// A server that died or passed 1 GiB is restarted for the next attack so that each row says
// something about its own attack.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { getPriority, setPriority } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { AttackContext } from './context.ts';
import type { Attack } from './context.ts';
import type { WindowStats } from './bystander.ts';
import { ROOT, RssSampler, ServerProcess } from './server.ts';
import { ATTACKS } from './attacks/index.ts';

/** RSS at or above this is "broke" (and the attack is stopped at once). */
export const RSS_LIMIT_MIB = 1024;
/** Bystander echo p99 at or above this is "degraded". */
export const P99_LIMIT_MS = 50;
/** Niceness of the load client (the server and the bystander stay at 0). */
const LOAD_CLIENT_NICE = 10;

export interface SuiteOptions {
  /** A few seconds per attack (the vitest version). */
  short?: boolean;
  /** Per-attack duration (ms); default 15 s, short 2.5 s. */
  durationMs?: number;
  /** A new server process for every attack (default: one for the whole run). */
  fresh?: boolean;
  /** Only these attacks (names). */
  only?: string[];
  /** How the run was started, for the table's first line (default: the npm script). */
  command?: string;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export type Verdict = 'held' | 'degraded' | 'broke' | 'skipped';

export interface AttackResult {
  name: string;
  title: string;
  verdict: Verdict;
  startMiB: number;
  peakMiB: number;
  afterMiB: number;
  bystander: WindowStats | null;
  answers: Map<string, number>;
  notes: string[];
  seconds: number;
}

export interface SuiteResult {
  results: AttackResult[];
  table: string;
  broke: AttackResult[];
  peakMiB: number;
  startedAt: Date;
  seconds: number;
  nodeVersion: string;
  /** Server processes started after the first (a death, 1 GiB, or `fresh`). */
  restarts: number;
  fresh: boolean;
}

class Bystander {
  private readonly child: ChildProcess;
  private waiting: ((msg: any) => void) | null = null;

  constructor() {
    // No execArgv: under vitest the parent's flags are the runner's, not Node's plain ones.
    this.child = fork(join(ROOT, 'stress', 'bystander.ts'), [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.child.on('message', (msg) => {
      const w = this.waiting;
      this.waiting = null;
      w?.(msg);
    });
  }

  private ask(cmd: object, ms = 15_000): Promise<any> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        resolve({ type: 'error', message: 'bystander did not answer' });
      }, ms);
      this.waiting = (msg) => {
        clearTimeout(timer);
        resolve(msg);
      };
      this.child.send(cmd);
    });
  }

  async connect(port: number): Promise<void> {
    const answer = await this.ask({ cmd: 'connect', port });
    if (answer.type !== 'ready') throw new Error(`bystander: ${answer.message}`);
  }

  window(): void {
    this.child.send({ cmd: 'window' });
  }

  async stats(): Promise<WindowStats | null> {
    const answer = await this.ask({ cmd: 'stats' }, 5000);
    return answer.type === 'stats' ? (answer as WindowStats) : null;
  }

  stop(): void {
    if (this.child.connected) this.child.send({ cmd: 'stop' });
    setTimeout(() => this.child.kill('SIGKILL'), 1000).unref();
  }
}

/** A new learner from a fresh address: POST /api/sessions must answer 201 and the echo must work. */
async function newLearnerCheck(port: number, address: string): Promise<string | null> {
  const status = await new Promise<{ code: number; body: string } | string>((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, localAddress: address, method: 'POST', path: '/api/sessions', agent: false, timeout: 5000 },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve(`POST failed (${err.message})`));
    req.end();
  });
  if (typeof status === 'string') return status;
  if (status.code !== 201) return `new session refused (http ${status.code})`;
  const id = (JSON.parse(status.body) as { id: string }).id;
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/s/${id}/echo`, { localAddress: address, handshakeTimeout: 3000 });
    const timer = setTimeout(() => finish('new session: no echo within 3 s'), 3000);
    function finish(result: string | null) {
      clearTimeout(timer);
      ws.terminate();
      resolve(result);
    }
    ws.on('open', () => ws.send('check'));
    ws.on('message', (d) => finish(d.toString() === 'check' ? null : 'new session: wrong echo'));
    ws.on('unexpected-response', (_req, res) => finish(`new session: echo upgrade http ${res.statusCode}`));
    ws.on('error', (err) => finish(`new session: echo failed (${err.message})`));
  });
}

export async function runSuite(options: SuiteOptions = {}): Promise<SuiteResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const short = options.short ?? false;
  const durationMs = options.durationMs ?? (short ? 2500 : 15_000);
  const attacks = options.only?.length ? ATTACKS.filter((a) => options.only!.includes(a.name)) : ATTACKS;
  if (options.only?.length && attacks.length !== options.only.length) {
    const known = new Set(ATTACKS.map((a) => a.name));
    throw new Error(`unknown attack(s): ${options.only.filter((n) => !known.has(n)).join(', ')}; known: ${[...known].join(', ')}`);
  }
  const hasDist = existsSync(join(ROOT, 'dist', 'index.html'));
  const startedAt = new Date();
  const results: AttackResult[] = [];
  let server = await ServerProcess.start();
  log(`server pid ${server.child.pid} on 127.0.0.1:${server.port}, RSS ${server.rssMiB()?.toFixed(0)} MiB`);
  const bystander = new Bystander();
  let runPeak = 0;
  let restarts = 0;
  let checkAddress = 0;
  try {
    await bystander.connect(server.port);
    // A second of ordinary traffic first: the first attack's row should not pay for the JIT.
    await new Promise((r) => setTimeout(r, 1000));
    for (const [index, attack] of attacks.entries()) {
      if (server.exited || !(await server.accepts())) {
        log(`restarting the server (${server.exited ? server.why() : 'not accepting'})`);
        await server.kill();
        server = await ServerProcess.start();
        restarts++;
        await bystander.connect(server.port);
      }
      if (attack.needsDist && !hasDist) {
        results.push(skipped(attack, 'dist/ missing: run `npm run build` (or `npm start` once) to include this attack'));
        log(`${attack.name}: skipped (no dist/)`);
        continue;
      }
      const result = await runOne(attack, index, server, bystander, short, Math.max(durationMs, attack.minMs ?? 0), ++checkAddress);
      runPeak = Math.max(runPeak, result.peakMiB);
      results.push(result);
      log(
        `${attack.name}: ${result.verdict}, peak ${result.peakMiB.toFixed(0)} MiB, p99 ${result.bystander?.p99 ?? '—'} ms, ${formatAnswers(result.answers) || 'no answer'}${result.notes.length ? ` — ${result.notes.join('; ')}` : ''}`,
      );
      // By default the server lives through the whole run, as it would in service (the attacks'
      // sessions stay until their idle expiry): the last row's RSS is the whole run's. It is
      // restarted only once it broke (1 GiB: a dead one is restarted above), or before every
      // attack with `fresh` (rows independent of each other).
      if (!server.exited && (result.peakMiB >= RSS_LIMIT_MIB || options.fresh)) {
        if (!options.fresh) result.notes.push(`server restarted after this attack (RSS ${result.afterMiB.toFixed(0)} MiB)`);
        await server.kill();
      }
    }
  } finally {
    bystander.stop();
    await server.stop();
  }
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const broke = results.filter((r) => r.verdict === 'broke');
  const suite = {
    results,
    broke,
    peakMiB: runPeak,
    startedAt,
    seconds,
    nodeVersion: process.version,
    restarts,
    fresh: options.fresh ?? false,
    table: '',
  };
  suite.table = formatTable(suite, options.command ?? `npm run stress${short ? ' -- --short' : ''}`, durationMs);
  return suite;
}

/**
 * Lowers the load client's priority for the attack: the server and the bystander (2 cores for the
 * three) get the CPU first, as on a real deployment where the attacker's CPU is not the server's,
 * so that the client's load does not show up as the server's latency. Only the calling thread is
 * affected on Linux. Returns the undo; children spawned later (a restarted server) must not
 * inherit the lower priority, so when the undo is refused (unprivileged), nice is not used again.
 */
let niceUsable = true;
function yieldCpu(): () => void {
  if (!niceUsable) return () => {};
  const before = getPriority();
  try {
    setPriority(before + LOAD_CLIENT_NICE);
  } catch {
    niceUsable = false;
    return () => {};
  }
  return () => {
    try {
      setPriority(before);
    } catch {
      niceUsable = false;
    }
  };
}

function skipped(attack: Attack, note: string): AttackResult {
  return {
    name: attack.name,
    title: attack.title,
    verdict: 'skipped',
    startMiB: 0,
    peakMiB: 0,
    afterMiB: 0,
    bystander: null,
    answers: new Map(),
    notes: [note],
    seconds: 0,
  };
}

async function runOne(
  attack: Attack,
  index: number,
  server: ServerProcess,
  bystander: Bystander,
  short: boolean,
  durationMs: number,
  checkN: number,
): Promise<AttackResult> {
  const controller = new AbortController();
  const startMiB = server.rssMiB() ?? 0;
  server.resetPeak();
  let overLimit = false;
  const sampler = new RssSampler(server, (mib) => {
    if (mib >= RSS_LIMIT_MIB && !overLimit) {
      overLimit = true;
      controller.abort();
    }
  });
  server.whenExit(() => controller.abort());
  server.takeStderr();
  const ctx = new AttackContext({ port: server.port, ipPrefix: `127.0.${10 + index}`, durationMs, short, signal: controller.signal });
  bystander.window();
  const started = Date.now();
  const restoreNice = yieldCpu();
  const deadline = setTimeout(() => controller.abort(), durationMs);
  // An attack that ignores its deadline is cut off 10 s later; its sockets are closed below.
  let hardStop!: NodeJS.Timeout;
  const overrun = new Promise<void>((resolve) => {
    hardStop = setTimeout(() => {
      ctx.note('attack overran its deadline by 10 s (client side)');
      resolve();
    }, durationMs + 10_000);
  });
  try {
    await Promise.race([attack.run(ctx), overrun]);
  } catch (err) {
    if (ctx.running || !server.exited) ctx.note(`client error: ${(err as Error).message}`);
  } finally {
    clearTimeout(deadline);
    clearTimeout(hardStop);
    controller.abort();
  }
  restoreNice();
  const seconds = (Date.now() - started) / 1000;
  const stats = await bystander.stats();
  ctx.closeAll();
  const peakMiB = sampler.stop();
  const notes = [...ctx.defects.map((d) => `DEFECT: ${d}`)];
  let verdict: Verdict = 'held';
  if (server.exited) {
    verdict = 'broke';
    notes.unshift(`server died (${server.why()})`);
  } else if (peakMiB >= RSS_LIMIT_MIB) {
    verdict = 'broke';
    notes.unshift(`RSS reached ${peakMiB.toFixed(0)} MiB: attack stopped after ${seconds.toFixed(1)} s`);
  } else if (ctx.defects.length) {
    verdict = 'broke';
  }
  // Give the server a moment to drop what the attack left (closed sockets), then check a newcomer.
  await new Promise((r) => setTimeout(r, 200));
  const afterMiB = server.rssMiB() ?? 0;
  if (!server.exited) {
    const problem = (await server.accepts(3000))
      ? await newLearnerCheck(server.port, `127.0.2.${(checkN % 250) + 1}`)
      : 'server no longer accepts connections';
    if (problem) {
      notes.push(problem);
      if (verdict === 'held') verdict = 'degraded';
    }
    if (server.exited) {
      verdict = 'broke';
      notes.unshift(`server died after the attack (${server.why()})`);
    }
  }
  if (stats) {
    if (stats.p99 >= P99_LIMIT_MS && verdict === 'held') verdict = 'degraded';
    if (stats.late) notes.push(`bystander: ${stats.late} echo(es) late > 1 s`);
    if (stats.unsent) notes.push(`bystander: ${stats.unsent} message(s) not sent (echo socket down)`);
    for (const p of stats.problems) notes.push(`bystander: ${p}`);
    if (stats.count === 0 && verdict === 'held') verdict = 'degraded';
  } else {
    notes.push('bystander: no statistics');
    if (verdict === 'held') verdict = 'degraded';
  }
  // Memory the attack left behind (its sessions live on: they expire after 30 min idle).
  if (afterMiB - startMiB >= 32) notes.push(`RSS +${(afterMiB - startMiB).toFixed(0)} MiB kept after the attack`);
  notes.push(...ctx.notes);
  // Warnings and errors the server printed during the attack (first two, without stack lines).
  const stderr = server.takeStderr().filter((l) => !l.startsWith('at ') && !l.startsWith('(Use `node --trace'));
  for (const line of [...new Set(stderr)].slice(0, 2)) notes.push(`server stderr: ${line.slice(0, 200)}`);
  return {
    name: attack.name,
    title: attack.title,
    verdict,
    startMiB,
    peakMiB,
    afterMiB,
    bystander: stats,
    answers: ctx.answers,
    notes,
    seconds,
  };
}

export function formatAnswers(answers: Map<string, number>): string {
  return [...answers.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => (n > 1 ? `${k} ×${n}` : k))
    .join(', ');
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function formatTable(suite: Omit<SuiteResult, 'table'>, command: string, durationMs: number): string {
  const when = suite.startedAt.toISOString().replace('T', ' ').slice(0, 16);
  const counts = (v: Verdict) => suite.results.filter((r) => r.verdict === v).length;
  const lines = [
    `Stress run started ${when} UTC: \`${command}\`, ${(durationMs / 1000).toFixed(1)} s per attack (at least what an attack needs), Node ${suite.nodeVersion.slice(1)}, ` +
      `server \`node sandbox-server/main.ts\` with default limits on 127.0.0.1 (attacks from other 127.x addresses than the learners, load client at nice ${LOAD_CLIENT_NICE}); ${suite.seconds.toFixed(0)} s in all. ` +
      `Held ${counts('held')}, degraded ${counts('degraded')}, broke ${counts('broke')}${counts('skipped') ? `, skipped ${counts('skipped')}` : ''}; highest RSS ${suite.peakMiB.toFixed(0)} MiB; ` +
      (suite.fresh
        ? 'a new server process for every attack.'
        : `one server process for the whole run${suite.restarts ? ` (restarted ${suite.restarts} time(s) after a break)` : ' (the sessions of earlier attacks are still there: see the start RSS)'}.`),
    '',
    '| Attack | Result | Peak RSS MiB (start) | Bystander echo p99 ms | Server answers | Note |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of suite.results) {
    const rss = r.verdict === 'skipped' ? '—' : `${r.peakMiB.toFixed(0)} (${r.startMiB.toFixed(0)})`;
    const p99 = r.bystander ? `${r.bystander.p99}` : '—';
    const result = r.verdict === 'held' ? 'held' : `**${r.verdict}**`;
    lines.push(
      `| ${cell(r.name)} | ${result} | ${rss} | ${p99} | ${cell(formatAnswers(r.answers) || '—')} | ${cell([r.title, ...r.notes].join('; '))} |`,
    );
  }
  return lines.join('\n');
}
