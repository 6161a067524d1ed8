// Shared helpers of the benchmark: child processes on the project's Node (process.execPath) with
// an IPC channel, bounded waits, percentiles, /proc readings. Nothing here prints a figure.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every child started by the bench, killed on exit whatever happens. */
const children = new Set<ChildProcess>();
export function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', killAll);

export interface Child {
  proc: ChildProcess;
  /** Next IPC message whose `type` is `type` (rejects after `ms`). */
  next<T = Record<string, unknown>>(type: string, ms?: number): Promise<T>;
  send(msg: unknown): void;
  /** Asks and waits for the answer of the same type + '-result'. */
  ask<T = Record<string, unknown>>(msg: { type: string; [k: string]: unknown }, ms?: number): Promise<T>;
  stop(): Promise<void>;
}

export function startChild(script: string, args: string[] = [], opts: { execArgv?: string[]; env?: NodeJS.ProcessEnv } = {}): Child {
  const proc = fork(script, args, {
    execPath: process.execPath,
    execArgv: opts.execArgv ?? [],
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const queue: Record<string, unknown>[] = [];
  const waiters: { type: string; resolve(m: unknown): void }[] = [];
  proc.on('message', (m: Record<string, unknown>) => {
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else queue.push(m);
  });
  const next = <T>(type: string, ms = 60_000): Promise<T> => {
    const i = queue.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0] as T);
    return new Promise<T>((resolve, reject) => {
      const w = { type, resolve: (m: unknown) => (clearTimeout(timer), proc.off('exit', onExit), resolve(m as T)) };
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`${script} exited (${code}) while waiting for "${type}"`));
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        proc.off('exit', onExit);
        reject(new Error(`timeout (${ms} ms) waiting for "${type}" from ${script}`));
      }, ms);
      proc.once('exit', onExit);
      waiters.push(w);
    });
  };
  return {
    proc,
    next,
    send: (msg) => proc.connected && proc.send(msg as object),
    ask: (msg, ms) => {
      const p = next(`${msg.type}-result`, ms);
      proc.send(msg);
      return p as never;
    },
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** utime + stime of a process, in seconds (from /proc/<pid>/stat; clock ticks of 1/100 s). */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident memory of a process, in bytes (VmRSS of /proc/<pid>/status). */
export function procRssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(workers);
}

export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : String(n);

/** Opens a WebSocket (no compression, like the learners' scenarios); rejects after `timeoutMs`. */
export function openWs(url: string, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const t = setTimeout(() => reject(new Error(`timeout opening ${url}`)), timeoutMs);
    ws.once('open', () => (clearTimeout(t), resolve(ws)));
    ws.once('error', (e) => (clearTimeout(t), reject(e)));
    ws.once('unexpected-response', (_q, res) => (clearTimeout(t), reject(new Error(`HTTP ${res.statusCode} for ${url}`))));
  });
}

/** Creates `count` sandbox sessions (20 requests at a time) and returns their ids in order. */
export async function createSessions(base: string, count: number): Promise<string[]> {
  const ids: string[] = new Array(count);
  await pool(
    Array.from(ids, (_, i) => i),
    20,
    async (i) => {
      const res = await fetch(`http://${base}/api/sessions`, { method: 'POST' });
      if (res.status !== 201) throw new Error(`POST /api/sessions → ${res.status}`);
      ids[i] = ((await res.json()) as { id: string }).id;
    },
  );
  return ids;
}

/** Monitor URL of a session, in batched mode when asked. */
export const monitorUrl = (base: string, id: string, batch?: boolean) =>
  `ws://${base}/api/sessions/${id}/monitor${batch ? '?batch=1' : ''}`;
