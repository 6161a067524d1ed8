// What every learner Worker (each client, and the learner's server) reports to the page: console
// calls, uncaught errors and rejections, with line numbers in the learner's own code. Installed by
// the Worker's runtime before the learner's code runs.
import { describeError, inspect } from './inspect.ts';

/** Messages a Worker posts to the iframe (and the iframe to the page). */
export type RuntimeMessage =
  | { t: 'console'; level: 'log' | 'info' | 'warn' | 'error' | 'debug'; text: string; line: number | null }
  | { t: 'error'; kind: 'error' | 'rejection' | 'syntax'; text: string; line: number | null }
  | { t: 'truncated' };

type Scope = Record<string, unknown> & { postMessage(m: unknown): void; addEventListener: typeof self.addEventListener };

/** Defines a global the learner's code sees (not enumerable, replaceable). */
export function defineGlobal(scope: object, name: string, value: unknown): void {
  Object.defineProperty(scope, name, { value, writable: true, configurable: true, enumerable: false });
}

/**
 * Installs `console`, the error listeners and `__awTopLevelError` (called by the wrapper of the
 * learner's code) in the Worker; returns the reporting function (at most `maxLogs` messages).
 */
export function installReporting(scope: Scope, maxLogs: number): (m: RuntimeMessage) => void {
  const post = (m: RuntimeMessage) => scope.postMessage(m);
  // Line numbers: the learner's code is its own script (line 1 = line 1); frames of this runtime
  // and of the data: bootstrap are skipped.
  const ownUrl = frameUrls(new Error().stack)[0]?.url ?? '';
  const isLearner = (url: string) => url !== ownUrl && !url.startsWith('data:') && url !== '';
  const lineFromStack = (stack: string | undefined): number | null => frameUrls(stack).find((f) => isLearner(f.url))?.line ?? null;

  let logs = 0;
  const report = (m: RuntimeMessage) => {
    if (logs > maxLogs) return;
    if (++logs > maxLogs) return post({ t: 'truncated' });
    post(m);
  };

  const levels = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const consoleProxy: Record<string, unknown> = {};
  for (const level of levels) {
    consoleProxy[level] = (...args: unknown[]) =>
      report({ t: 'console', level, text: args.map((a) => inspect(a)).join(' '), line: lineFromStack(new Error().stack) });
  }
  defineGlobal(scope, 'console', Object.freeze(consoleProxy));

  scope.addEventListener('error', (ev) => {
    const e = ev as ErrorEvent;
    e.preventDefault();
    const err = e.error as Error | undefined;
    const line = isLearner(e.filename) ? e.lineno : lineFromStack(err?.stack);
    report({ t: 'error', kind: 'error', text: err ? describeError(err) : e.message, line });
  });
  // Errors thrown by the learner's top-level code (it runs in an async function).
  defineGlobal(scope, '__awTopLevelError', (e: unknown) =>
    report({
      t: 'error',
      kind: 'error',
      text: e instanceof Error ? describeError(e) : inspect(e),
      line: e instanceof Error ? lineFromStack(e.stack) : null,
    }),
  );
  scope.addEventListener('unhandledrejection', (ev) => {
    const e = ev as PromiseRejectionEvent;
    e.preventDefault();
    const r = e.reason as unknown;
    report({
      t: 'error',
      kind: 'rejection',
      text: r instanceof Error ? describeError(r) : inspect(r),
      line: r instanceof Error ? lineFromStack(r.stack) : null,
    });
  });
  return report;
}

/** Script URL and line of each stack frame ("at f (url:line:col)" or "at url:line:col"). */
function frameUrls(stack: string | undefined): { url: string; line: number }[] {
  const frames: { url: string; line: number }[] = [];
  for (const m of (stack ?? '').matchAll(/(?:\(|at )([^\s()]+):(\d+):(\d+)\)?\s*$/gm)) {
    frames.push({ url: m[1], line: Number(m[2]) });
  }
  return frames;
}
