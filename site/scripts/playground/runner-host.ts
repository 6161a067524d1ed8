// Runs learner code in isolation: one sandboxed iframe (srcdoc, allow-scripts only → opaque
// origin, no access to the page, its cookies or storage), and inside it one Worker per client.
//
// At most one sandboxed iframe exists on the page: removing a sandboxed iframe kills its process
// (and its looping workers) only when it is the only one. To keep « Exécuter » fast, the next
// iframe is made in advance (a "spare": loaded, its Workers started with the runtime parsed,
// waiting for code) — but only while no run is live, a little after the last one was removed so
// that it never shares the dying process. Starting a run stops any other run, then turns the
// spare into the live iframe by posting it the code.
import runtimeCode from 'virtual:aw-runner-runtime';
import type { RuntimeConfig, RuntimeMessage } from './runner-runtime.ts';
import { importsToRequire } from './server-runtime/esm-imports.ts';
import type { ServerRuntimeConfig } from './server-runtime/worker.ts';

export interface ClientProgram {
  label: string;
  index: number;
  code: string;
}

/** The learner's server: its code runs in its own Worker, started before the clients. */
export interface ServerProgram {
  code: string;
  /** ws:// URL of the session's host channel, and its secret. */
  hostUrl: string;
  secret: string;
}

/** Label of the server's messages in onMessage. */
export const SERVER_LABEL = 'serveur';

export interface RunOptions {
  endpoints: { http: string; ws: string; socketIoPath: string };
  clients: ClientProgram[];
  server?: ServerProgram;
  onMessage(client: string, message: RuntimeMessage): void;
  /** Called once when the run ends (Arrêter, another run started, or the time limit). */
  onStop(reason: 'stopped' | 'replaced' | 'timeout'): void;
  /** Stops the run after this many ms (default 10 minutes). */
  timeLimit?: number;
}

export interface RunHandle {
  stop(): void;
  readonly running: boolean;
}

const MAX_LOGS = 500;
/** Delay between the removal of a run's iframe and the creation of the spare (the old process must be gone). */
export const SPARE_DELAY_MS = 150;

// Each client's Worker starts from a data: URL (a secure context, so crypto.subtle works; a blob:
// URL created in the opaque-origin iframe would not be one). First message: the runtime, loaded at
// once (while the iframe waits as a spare). Second message: the config and the learner's code,
// loaded as its own script so that line numbers map one to one. A syntax error in it throws from
// importScripts before anything runs: the iframe then finds its line (throwaway parse-only worker).
// An install that returns a promise (the server's: its host channel authenticated first, see
// server-runtime/worker.ts) has the code wait for it.
const WORKER_BOOT = `const url = (s) => URL.createObjectURL(new Blob([s], { type: 'text/javascript' }));
self.onmessage = (e) => {
  self.onmessage = (e) => {
    self.onmessage = null;
    const load = () => {
      try {
        importScripts(url('(async () => {' + e.data.code + '\\n})().catch((e) => self.__awTopLevelError(e));\\n'));
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        postMessage({ t: '__syntax', text: String(err.message) });
      }
    };
    const installed = self[e.data.install || '__awInstall'](e.data.config);
    if (installed && typeof installed.then === 'function') installed.then(load);
    else load();
  };
  importScripts(url(e.data.runtime));
};`;

// Runs in the sandboxed iframe. Starts the pre-started Workers, tells the page it is ready, then
// waits for one `run` message from the page (with this iframe's token) and relays the workers'
// messages to the page.
const BOOTSTRAP = `
const cfg = JSON.parse(document.getElementById('aw-cfg').textContent);
const relay = (client, m) => parent.postMessage({ aw: cfg.token, client, m }, '*');
const label = (i) => String.fromCharCode(65 + i);
const start = (i) => {
  const w = new Worker('data:text/javascript,' + encodeURIComponent(cfg.boot), { name: 'Client ' + label(i) });
  w.postMessage({ runtime: cfg.runtime });
  return w;
};
const pool = [];
for (let i = 0; i < cfg.workers; i++) pool.push(start(i));
function syntaxCheck(code) {
  return new Promise((resolve) => {
    const src = 'function __awParseOnly() { (async () => {' + code + '\\n}); }\\npostMessage(0);\\n';
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
    const done = (v) => { w.terminate(); resolve(v); };
    w.onmessage = () => done(null);
    w.onerror = (e) => { e.preventDefault(); done({ text: e.message || 'SyntaxError', line: e.lineno || null }); };
    setTimeout(() => done(null), 3000);
  });
}
let started = false;
function startServer(server, then) {
  const w = new Worker('data:text/javascript,' + encodeURIComponent(cfg.boot), { name: 'Serveur' });
  let go = () => { go = () => {}; clearTimeout(timer); then(); };
  // The clients start once the host channel is accepted (or after 5 s, to show what fails).
  const timer = setTimeout(() => go(), 5000);
  w.onmessage = (e) => {
    const m = e.data;
    if (m && m.t === '__server-ready') return go();
    if (m && m.t === '__server-failed') { relay(cfg.server, { t: 'error', kind: 'error', text: m.text, line: null }); return go(); }
    if (m && m.t === '__syntax') {
      go();
      return syntaxCheck(server.code).then((err) =>
        relay(cfg.server, { t: 'error', kind: 'syntax', text: err ? err.text : 'SyntaxError: ' + m.text, line: err ? err.line : null }));
    }
    relay(cfg.server, m);
  };
  w.onerror = (e) => { e.preventDefault(); relay(cfg.server, { t: 'error', kind: 'error', text: e.message, line: null }); };
  w.postMessage({ runtime: server.runtime });
  w.postMessage({ config: server.config, code: server.code, install: '__awInstallServer' });
}
addEventListener('message', (e) => {
  const run = e.source === parent && e.data && e.data.aw === cfg.token ? e.data.run : null;
  if (!run || started) return;
  started = true;
  if (run.server) startServer(run.server, () => startClients(run));
  else startClients(run);
});
function startClients(run) {
  run.clients.forEach((c, i) => {
    const w = pool[i] || start(i);
    pool[i] = null;
    w.onmessage = (e) => {
      if (e.data && e.data.t === '__syntax') {
        return syntaxCheck(c.code).then((err) =>
          relay(c.label, { t: 'error', kind: 'syntax', text: err ? err.text : 'SyntaxError: ' + e.data.text, line: err ? err.line : null }));
      }
      relay(c.label, e.data);
    };
    w.onerror = (e) => { e.preventDefault(); relay(c.label, { t: 'error', kind: 'error', text: e.message, line: null }); };
    w.postMessage({ config: c.config, code: c.code });
  });
  for (const w of pool) if (w) w.terminate();
}
parent.postMessage({ aw: cfg.token, ready: true }, '*');
`;

interface Frame {
  iframe: HTMLIFrameElement;
  token: string;
  /** Resolves when the iframe's bootstrap has run (its workers are starting). */
  ready: Promise<void>;
  /** Messages from this iframe go here once it runs. */
  onMessage: ((client: string, m: RuntimeMessage) => void) | null;
  dispose(): void;
}

/** Loads a sandboxed iframe with `workers` pre-started Workers, waiting for code. */
function createFrame(workers: number): Frame {
  const token = Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  const json = JSON.stringify({ token, workers, runtime: runtimeCode, boot: WORKER_BOOT, server: SERVER_LABEL }).replace(/</g, '\\u003c');
  const iframe = document.createElement('iframe');
  iframe.setAttribute('sandbox', 'allow-scripts');
  iframe.title = 'Exécution isolée de votre code';
  // Out of sight and out of the accessibility tree, but not `hidden`: Chromium runs a sandboxed
  // iframe in a process of its own and lowers the priority of a process whose frames are all
  // display:none (observed: Chromium 150 on Linux gives it nice 5, 0 once the frame is rendered,
  // even at 0×0). The learner's Workers, the server's above all, should not yield the CPU to the
  // page's other processes; the relay round trip measured no difference above the noise, on a
  // loaded machine or a quiet one (bench/RESULTS.md, 2026-12-07 09:27 and 09:46).
  iframe.setAttribute('aria-hidden', 'true');
  iframe.tabIndex = -1;
  iframe.style.cssText = 'position:fixed;left:0;top:0;width:0;height:0;border:0;opacity:0;pointer-events:none';
  iframe.dataset.awRunner = '';
  iframe.srcdoc = `<!doctype html><meta charset="utf-8"><script type="application/json" id="aw-cfg">${json}</script><script>${BOOTSTRAP}</script>`;
  let markReady!: () => void;
  const frame: Frame = {
    iframe,
    token,
    ready: new Promise<void>((resolve) => (markReady = resolve)),
    onMessage: null,
    dispose() {
      window.removeEventListener('message', listener);
      iframe.remove();
    },
  };
  const listener = (ev: MessageEvent) => {
    if (ev.source !== iframe.contentWindow) return;
    const data = ev.data as { aw?: string; ready?: boolean; client?: string; m?: RuntimeMessage };
    if (data?.aw !== token) return;
    if (data.ready) return markReady();
    if (typeof data.client === 'string' && data.m) frame.onMessage?.(data.client, data.m);
  };
  window.addEventListener('message', listener);
  document.body.append(iframe);
  return frame;
}

let current: { frame: Frame; finish(reason: 'stopped' | 'replaced' | 'timeout'): void } | null = null;
let spare: Frame | null = null;
let spareTimer: ReturnType<typeof setTimeout> | undefined;
/** Workers to pre-start in the spare: the most clients among the playgrounds that asked. */
let spareWorkers = 1;

/**
 * Makes the spare iframe (if no run is live and there is none yet), with at least `workers`
 * Workers pre-started. Called when a playground is ready, and after each run (with a delay).
 */
export function prepare(workers = 1): void {
  spareWorkers = Math.max(spareWorkers, Math.min(6, Math.max(1, workers)));
  if (current || spare || spareTimer !== undefined) return;
  spare = createFrame(spareWorkers);
}

function prepareLater(): void {
  clearTimeout(spareTimer);
  spareTimer = setTimeout(() => {
    spareTimer = undefined;
    prepare();
  }, SPARE_DELAY_MS);
}

export function run(opts: RunOptions): RunHandle {
  current?.finish('replaced');
  // The live iframe must be the only sandboxed one on the page: the spare becomes it.
  clearTimeout(spareTimer);
  spareTimer = undefined;
  const frame = spare ?? createFrame(opts.clients.length);
  spare = null;
  const clients = opts.clients.map((c) => {
    const config: RuntimeConfig = {
      client: c.label,
      index: c.index,
      http: opts.endpoints.http,
      ws: opts.endpoints.ws,
      socketIoPath: opts.endpoints.socketIoPath,
      maxLogs: MAX_LOGS,
    };
    return { label: c.label, code: c.code, config };
  });

  const server = opts.server
    ? {
        // Its ES imports become require calls (the Worker runs it as a script), lines kept.
        code: importsToRequire(opts.server.code),
        config: { hostUrl: opts.server.hostUrl, secret: opts.server.secret, maxLogs: MAX_LOGS } satisfies ServerRuntimeConfig,
        runtime: null as string | null,
      }
    : null;
  let running = true;
  frame.onMessage = (client, m) => {
    if (running) opts.onMessage(client, m);
  };
  const post = async () => {
    // The server's runtime is loaded only by playgrounds that have a server.
    if (server) server.runtime = (await import('virtual:aw-server-runtime')).default;
    if (!running) return;
    frame.iframe.contentWindow?.postMessage({ aw: frame.token, run: { clients, server } }, '*');
    performance.mark('aw:run-posted');
  };
  void frame.ready.then(post);

  const timer = setTimeout(() => finish('timeout'), opts.timeLimit ?? 10 * 60_000);
  const finish = (reason: 'stopped' | 'replaced' | 'timeout') => {
    if (!running) return;
    running = false;
    clearTimeout(timer);
    frame.dispose();
    if (current?.frame === frame) current = null;
    opts.onStop(reason);
    // The next run's iframe, once this one's process is gone (not when another run replaces it).
    if (!current && reason !== 'replaced') prepareLater();
  };
  current = { frame, finish };
  return {
    stop: () => finish('stopped'),
    get running() {
      return running;
    },
  };
}
