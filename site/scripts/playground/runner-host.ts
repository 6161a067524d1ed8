// Runs learner code in isolation: one sandboxed iframe (srcdoc, allow-scripts only → opaque
// origin, no access to the page, its cookies or storage), and inside it one Worker per client.
// Only one runner exists per page: removing a sandboxed iframe kills its process (and its
// looping workers) only when it is the only one, so starting a run stops any other.
import runtimeCode from 'virtual:aw-runner-runtime';
import type { RuntimeConfig, RuntimeMessage } from './runner-runtime.ts';

export interface ClientProgram {
  label: string;
  index: number;
  code: string;
}

export interface RunOptions {
  endpoints: { http: string; ws: string; socketIoPath: string };
  clients: ClientProgram[];
  /** Where the (hidden) iframe is attached. */
  container: HTMLElement;
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

let current: { iframe: HTMLIFrameElement; finish(reason: 'stopped' | 'replaced' | 'timeout'): void } | null = null;

/** Stops whichever run is active on the page. */
export function stopAll(): void {
  current?.finish('stopped');
}

const MAX_LOGS = 500;

// Each client's Worker starts from a data: URL (a secure context, so crypto.subtle works; a blob:
// URL created in the opaque-origin iframe would not be one). It loads the runtime, installs the
// globals, then loads the learner's code as its own script, so line numbers map one to one.
const WORKER_BOOT = `self.onmessage = (e) => {
  self.onmessage = null;
  const url = (s) => URL.createObjectURL(new Blob([s], { type: 'text/javascript' }));
  importScripts(url(e.data.runtime));
  self.__awInstall(e.data.config);
  importScripts(url('(async () => {' + e.data.code + '\\n})().catch((e) => self.__awTopLevelError(e));\\n'));
};`;

// Runs in the sandboxed iframe. Syntax errors: a throwaway classic worker parses the code (never
// runs it) and reports the line through its error event; then the client workers start and
// their messages are relayed to the page.
const BOOTSTRAP = `
const cfg = JSON.parse(document.getElementById('aw-cfg').textContent);
const relay = (client, m) => parent.postMessage({ aw: cfg.token, client, m }, '*');
const checked = new Map();
function syntaxCheck(code) {
  if (!checked.has(code)) {
    checked.set(code, new Promise((resolve) => {
      const src = 'function __awParseOnly() { (async () => {' + code + '\\n}); }\\npostMessage(0);\\n';
      const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
      const done = (v) => { w.terminate(); resolve(v); };
      w.onmessage = () => done(null);
      w.onerror = (e) => { e.preventDefault(); done({ text: e.message || 'SyntaxError', line: e.lineno || null }); };
      setTimeout(() => done(null), 3000);
    }));
  }
  return checked.get(code);
}
for (const c of cfg.clients) {
  syntaxCheck(c.code).then((err) => {
    if (err) return relay(c.label, { t: 'error', kind: 'syntax', text: err.text, line: err.line });
    const w = new Worker('data:text/javascript,' + encodeURIComponent(cfg.boot), { name: 'Client ' + c.label });
    w.onmessage = (e) => relay(c.label, e.data);
    w.onerror = (e) => { e.preventDefault(); relay(c.label, { t: 'error', kind: 'error', text: e.message, line: null }); };
    w.postMessage({ runtime: cfg.runtime, config: c.config, code: c.code });
  });
}
`;

export function run(opts: RunOptions): RunHandle {
  current?.finish('replaced');
  const token = Math.random().toString(36).slice(2);
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
  const json = JSON.stringify({ token, clients, runtime: runtimeCode, boot: WORKER_BOOT }).replace(/</g, '\\u003c');
  const iframe = document.createElement('iframe');
  iframe.setAttribute('sandbox', 'allow-scripts');
  iframe.title = 'Exécution isolée de votre code';
  iframe.hidden = true;
  iframe.srcdoc = `<!doctype html><meta charset="utf-8"><script type="application/json" id="aw-cfg">${json}</script><script>${BOOTSTRAP}</script>`;

  let running = true;
  const onMessage = (ev: MessageEvent) => {
    if (ev.source !== iframe.contentWindow) return;
    const data = ev.data as { aw?: string; client?: string; m?: RuntimeMessage };
    if (data?.aw !== token || typeof data.client !== 'string' || !data.m) return;
    opts.onMessage(data.client, data.m);
  };
  const timer = setTimeout(() => finish('timeout'), opts.timeLimit ?? 10 * 60_000);
  const finish = (reason: 'stopped' | 'replaced' | 'timeout') => {
    if (!running) return;
    running = false;
    clearTimeout(timer);
    window.removeEventListener('message', onMessage);
    iframe.remove();
    if (current?.iframe === iframe) current = null;
    opts.onStop(reason);
  };
  window.addEventListener('message', onMessage);
  current = { iframe, finish };
  opts.container.append(iframe);
  return {
    stop: () => finish('stopped'),
    get running() {
      return running;
    },
  };
}
