// What runs inside each client's Worker (in the sandboxed iframe), before the learner's code.
// Bundled on its own as an IIFE (site/vite/playground-plugin.ts) and inlined into the iframe:
// it installs the globals learner code uses (sandbox, io, a console that reports to the page)
// and reports uncaught errors with line numbers in the learner's code.
import { io as ioClient, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import { defineGlobal, installReporting } from './worker-report.ts';
import type { RuntimeMessage } from './worker-report.ts';

export type { RuntimeMessage };

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

const scope = self as unknown as Parameters<typeof installReporting>[0];

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

  const define = (name: string, value: unknown) => defineGlobal(scope, name, value);
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

  installReporting(scope, cfg.maxLogs);
}

scope.__awInstall = install;
