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

/** The worker script of one client: runtime, install call, then the learner's code in an async function. */
export function workerSource(cfg: Omit<RuntimeConfig, 'lineOffset' | 'maxLogs'>, code: string): { source: string; lineOffset: number } {
  const prelude = `${runtimeCode}\n`;
  const preludeLines = prelude.split('\n').length; // lines before the install line, plus the install line itself
  const config: RuntimeConfig = { ...cfg, lineOffset: preludeLines, maxLogs: MAX_LOGS };
  // The learner's line 1 shares the line of the async wrapper: line numbers map one to one.
  const source = `${prelude}self.__awInstall(${JSON.stringify(config)});\n(async () => {${code}\n})().catch((e) => self.__awTopLevelError(e));\n`;
  return { source, lineOffset: preludeLines };
}

// Runs in the sandboxed iframe: starts the workers and relays their messages to the page.
const BOOTSTRAP = `
const cfg = JSON.parse(document.getElementById('aw-cfg').textContent);
for (const c of cfg.clients) {
  const url = URL.createObjectURL(new Blob([c.source], { type: 'text/javascript' }));
  const w = new Worker(url, { name: 'Client ' + c.label });
  const relay = (m) => parent.postMessage({ aw: cfg.token, client: c.label, m }, '*');
  w.onmessage = (e) => relay(e.data);
  w.onerror = (e) => {
    e.preventDefault();
    const line = e.lineno > c.lineOffset ? e.lineno - c.lineOffset : null;
    relay({ t: 'error', kind: 'syntax', text: e.message || 'Erreur au chargement du script', line });
  };
}
`;

export function run(opts: RunOptions): RunHandle {
  current?.finish('replaced');
  const token = Math.random().toString(36).slice(2);
  const clients = opts.clients.map((c) => {
    const { source, lineOffset } = workerSource(
      { client: c.label, index: c.index, http: opts.endpoints.http, ws: opts.endpoints.ws, socketIoPath: opts.endpoints.socketIoPath },
      c.code,
    );
    return { label: c.label, source, lineOffset };
  });
  const json = JSON.stringify({ token, clients }).replace(/</g, '\\u003c');
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
