// The server under test, started the way `npm start` runs it once dist/ is built:
// `node sandbox-server/main.ts` with PORT and HOST=127.0.0.1 and no SANDBOX_* variable, so every
// limit is at its default. Its memory is read from /proc/<pid>/status: VmRSS sampled while an
// attack runs, and VmHWM (the kernel's own peak, reset through clear_refs) so that a spike
// between two samples is not missed.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export class ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  exited = false;
  exitCode: number | null = null;
  exitSignal: string | null = null;
  /** The end of the server's stderr (why it died). */
  private stderrTail = '';
  /** Lines written to stderr since the last takeStderr (at most 50 kept). */
  private stderrLines: string[] = [];
  private onExit: Array<() => void> = [];

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      this.stderrTail = (this.stderrTail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim() && this.stderrLines.length < 50) this.stderrLines.push(line.trim());
    });
    child.stdout?.resume();
    child.once('exit', (code, signal) => {
      this.exited = true;
      this.exitCode = code;
      this.exitSignal = signal;
      for (const fn of this.onExit.splice(0)) fn();
    });
  }

  static async start(): Promise<ServerProcess> {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      // Default limits, and none of the test runner's own options.
      if (!k.startsWith('SANDBOX_') && k !== 'NODE_OPTIONS' && !k.startsWith('VITEST')) env[k] = v;
    }
    Object.assign(env, { PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production' });
    delete env.PUBLIC_URL;
    // STRESS_SERVER_DIR runs another checkout's server (e.g. an older commit extracted with
    // `git archive`, to see that an attack does catch the defect it is about).
    const cwd = process.env.STRESS_SERVER_DIR || ROOT;
    delete env.STRESS_SERVER_DIR;
    // STRESS_NODE_ARGS: options for the server's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = (process.env.STRESS_NODE_ARGS ?? '').split(' ').filter(Boolean);
    delete env.STRESS_NODE_ARGS;
    const child = spawn(process.execPath, [...nodeArgs, 'sandbox-server/main.ts'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new ServerProcess(child, port);
    const deadline = Date.now() + 20_000;
    while (!(await server.accepts())) {
      if (server.exited) throw new Error(`server exited at start: ${server.why()}`);
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error('server did not listen within 20 s');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return server;
  }

  /** Whether a TCP connection is accepted now. */
  accepts(ms = 2000): Promise<boolean> {
    return new Promise((resolve) => {
      const s = connect({ port: this.port, host: '127.0.0.1' });
      const timer = setTimeout(() => done(false), ms);
      function done(ok: boolean) {
        clearTimeout(timer);
        s.destroy();
        resolve(ok);
      }
      s.once('connect', () => done(true));
      s.once('error', () => done(false));
    });
  }

  /** What the server wrote to stderr since the last call (warnings, errors). */
  takeStderr(): string[] {
    return this.stderrLines.splice(0);
  }

  /** Calls `fn` when the process exits (at once if it already has). */
  whenExit(fn: () => void): void {
    if (this.exited) fn();
    else this.onExit.push(fn);
  }

  /** Why the process ended, in a few words. */
  why(): string {
    const oom = /heap out of memory|Allocation failed/i.test(this.stderrTail);
    const lastLine = this.stderrTail.trim().split('\n').filter(Boolean).at(-1)?.slice(0, 120) ?? '';
    const how = this.exitSignal ? `signal ${this.exitSignal}` : `exit ${this.exitCode}`;
    return oom ? `${how}, JavaScript heap out of memory` : `${how}${lastLine ? `: ${lastLine}` : ''}`;
  }

  private status(): string | null {
    if (this.exited || !this.child.pid) return null;
    try {
      return readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    } catch {
      return null;
    }
  }

  private field(name: string): number | null {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(this.status() ?? '');
    return m ? Number(m[1]) / 1024 : null;
  }

  /** Resident set size now (MiB), or null once the process is gone. */
  rssMiB(): number | null {
    return this.field('VmRSS');
  }

  /** The kernel's peak RSS since the last resetPeak (MiB). */
  peakMiB(): number | null {
    return this.field('VmHWM');
  }

  /** Resets VmHWM to the current RSS (Linux ≥ 4.0; ignored where not permitted). */
  resetPeak(): void {
    try {
      writeFileSync(`/proc/${this.child.pid}/clear_refs`, '5');
    } catch {
      // Not our process any more or not allowed: the sampled peak still counts.
    }
  }

  /** SIGTERM (graceful stop), then SIGKILL after 3 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.whenExit(r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }

  kill(): Promise<void> {
    if (this.exited) return Promise.resolve();
    const gone = new Promise<void>((r) => this.whenExit(r));
    this.child.kill('SIGKILL');
    return gone;
  }
}

/** Samples a server's RSS every `everyMs` and remembers the highest value. */
export class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly server: ServerProcess;
  private readonly onSample: (mib: number) => void;

  constructor(server: ServerProcess, onSample: (mib: number) => void, everyMs = 100) {
    this.server = server;
    this.onSample = onSample;
    this.timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }

  sample(): void {
    const rss = Math.max(this.server.rssMiB() ?? 0, this.server.peakMiB() ?? 0);
    if (rss > this.peak) this.peak = rss;
    this.onSample(rss);
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}
