// What runs inside each client's Worker (in the sandboxed iframe), before the learner's code.
// Bundled on its own as an IIFE (site/vite/playground-plugin.ts) and inlined into the iframe:
// it installs the globals learner code uses (sandbox, io, a console that reports to the page)
// and reports uncaught errors with line numbers in the learner's code.
import { io as ioClient, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import { describeError, inspect } from './inspect.ts';

/** Per-client settings, passed by the iframe bootstrap. */
export interface RuntimeConfig {
  /** Client label (A, B…) and index (0, 1…). */
  client: string;
  index: number;
  /** Absolute endpoint bases from the monitor's hello event. */
  http: string;
  ws: string;
  socketIoPath: string;
  /** Most console messages reported per run. */
  maxLogs: number;
}

/** Messages the worker posts to the iframe (and the iframe to the page). */
export type RuntimeMessage =
  | { t: 'console'; level: 'log' | 'info' | 'warn' | 'error' | 'debug'; text: string; line: number | null }
  | { t: 'error'; kind: 'error' | 'rejection' | 'syntax'; text: string; line: number | null }
  | { t: 'truncated' };

const scope = self as unknown as Record<string, unknown> & { postMessage(m: RuntimeMessage): void };
const post = (m: RuntimeMessage) => scope.postMessage(m);

function install(cfg: RuntimeConfig): void {
  const origin = new URL(cfg.http).origin;
  const httpHost = new URL(cfg.http).host;

  /** Adds ?client=<label> to URLs of the sandbox that lack it. */
  const withClient = (input: string | URL): string => {
    const url = new URL(String(input), cfg.http);
    if (url.host === httpHost && !url.searchParams.has('client')) url.searchParams.set('client', cfg.client);
    return url.href;
  };
  const join = (base: string, path: string) => withClient(new URL(path.replace(/^\/+/, ''), base));

  const sandbox = Object.freeze({
    url: (scenario: string) => join(cfg.ws, scenario),
    httpUrl: (path: string) => join(cfg.http, path),
    origin,
    client: cfg.client,
    index: cfg.index,
  });

  // Learner-visible constructors: the real ones, with the client label added to sandbox URLs.
  const NativeWebSocket = WebSocket;
  class SandboxWebSocket extends NativeWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(withClient(url), protocols);
    }
  }
  Object.defineProperty(SandboxWebSocket, 'name', { value: 'WebSocket' });
  const nativeFetch = fetch.bind(self);
  const sandboxFetch = (input: RequestInfo | URL, init?: RequestInit) =>
    nativeFetch(typeof input === 'string' || input instanceof URL ? withClient(input) : input, init);
  const NativeEventSource = typeof EventSource === 'function' ? EventSource : undefined;

  type IoOptions = Partial<ManagerOptions & SocketOptions>;
  const io = (uri?: string | IoOptions, opts?: IoOptions) => {
    if (typeof uri === 'object' && uri !== null) [uri, opts] = [undefined, uri];
    let target = uri ?? '/';
    if (target.startsWith('/')) target = origin + target;
    const query = { client: cfg.client, ...((opts?.query as Record<string, string>) ?? {}) };
    return ioClient(target, { path: cfg.socketIoPath, ...opts, query });
  };

  const define = (name: string, value: unknown) =>
    Object.defineProperty(scope, name, { value, writable: true, configurable: true, enumerable: false });
  define('sandbox', sandbox);
  define('io', io);
  define('WebSocket', SandboxWebSocket);
  define('fetch', sandboxFetch);
  if (NativeEventSource) {
    define(
      'EventSource',
      class extends NativeEventSource {
        constructor(url: string | URL, init?: EventSourceInit) {
          super(withClient(url), init);
        }
      },
    );
  }

  // Line numbers: the learner's code is its own script (line 1 = line 1); frames of this runtime
  // and of the data: bootstrap are skipped.
  const ownUrl = frameUrls(new Error().stack)[0]?.url ?? '';
  const isLearner = (url: string) => url !== ownUrl && !url.startsWith('data:') && url !== '';
  const lineFromStack = (stack: string | undefined): number | null =>
    frameUrls(stack).find((f) => isLearner(f.url))?.line ?? null;

  let logs = 0;
  const report = (m: RuntimeMessage) => {
    if (logs > cfg.maxLogs) return;
    if (++logs > cfg.maxLogs) return post({ t: 'truncated' });
    post(m);
  };

  const levels = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const consoleProxy: Record<string, unknown> = {};
  for (const level of levels) {
    consoleProxy[level] = (...args: unknown[]) =>
      report({ t: 'console', level, text: args.map((a) => inspect(a)).join(' '), line: lineFromStack(new Error().stack) });
  }
  define('console', Object.freeze(consoleProxy));

  self.addEventListener('error', (ev) => {
    ev.preventDefault();
    const err = ev.error as Error | undefined;
    const line = isLearner(ev.filename) ? ev.lineno : lineFromStack(err?.stack);
    report({ t: 'error', kind: 'error', text: err ? describeError(err) : ev.message, line });
  });
  // Errors thrown by the learner's top-level code (it runs in an async function).
  define('__awTopLevelError', (e: unknown) =>
    report({
      t: 'error',
      kind: 'error',
      text: e instanceof Error ? describeError(e) : inspect(e),
      line: e instanceof Error ? lineFromStack(e.stack) : null,
    }),
  );
  self.addEventListener('unhandledrejection', (ev) => {
    ev.preventDefault();
    const r = ev.reason as unknown;
    report({
      t: 'error',
      kind: 'rejection',
      text: r instanceof Error ? describeError(r) : inspect(r),
      line: r instanceof Error ? lineFromStack(r.stack) : null,
    });
  });
}

/** Script URL and line of each stack frame ("at f (url:line:col)" or "at url:line:col"). */
function frameUrls(stack: string | undefined): { url: string; line: number }[] {
  const frames: { url: string; line: number }[] = [];
  for (const m of (stack ?? '').matchAll(/(?:\(|at )([^\s()]+):(\d+):(\d+)\)?\s*$/gm)) {
    frames.push({ url: m[1], line: Number(m[2]) });
  }
  return frames;
}

scope.__awInstall = install;
