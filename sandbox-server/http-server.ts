// The one http server of production: the built site plus the sandbox, on one port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ipOf, KeyedRate } from './limits.ts';
import type { Limits } from './limits.ts';
import { logError } from './log.ts';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.ts';
import { clientOf, isTrusted } from './proxy.ts';
import type { TrustProxy } from './proxy.ts';
import { createSandbox, type Sandbox } from './sandbox.ts';
import { refuseUpgrade, sendJson } from './scenarios/common.ts';
import { recordLimit, startSampler } from './stats.ts';
import { createStaticHandler } from './static-files.ts';

export interface AppServerOptions {
  /** Folder of the built site (Astro's dist/). */
  distDir: string;
  /** Limit overrides (defaults in limits.ts). */
  limits?: Partial<Limits>;
  /** Public base URL announced to monitors (default: from the Host header). */
  publicUrl?: string;
  /** Proxies trusted to name the client and the public URL (TRUST_PROXY, proxy.ts). */
  trustProxy?: TrustProxy | null;
  /** Session id secrets (SESSION_SECRET, session-ids.ts): the first signs, all verify; none: random per process. */
  sessionSecrets?: readonly string[];
}

/** How a drain ended: its grace period ran out, or no session had a connection or a monitor left. */
export type DrainEnd = 'grace' | 'idle';

export interface AppServer {
  server: Server;
  sandbox: Sandbox;
  /**
   * Graceful stop: monitors get `end` (reason "shutdown"), learner WebSockets are closed with
   * 1001, then the server stops accepting connections and closes the rest; resolves when done.
   */
  close(): Promise<void>;
  /**
   * Drain: new sessions refused (503) and /readyz failing at once, every session's monitors told
   * (`draining`); resolves after `graceMs`, or sooner once no session has a connection or a
   * monitor. The caller then calls close().
   */
  drain(graceMs: number): Promise<DrainEnd>;
}

/** How often a drain looks whether anyone is left. */
const DRAIN_CHECK_MS = 250;

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(text);
}

/** /healthz, /readyz and /metrics (GET or HEAD); false for other paths. */
function serveOps(req: IncomingMessage, res: ServerResponse, server: Server, sandbox: Sandbox): boolean {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Méthode non autorisée');
    return true;
  }
  if (path === '/healthz') {
    plain(res, 200, 'ok\n');
  } else if (path === '/readyz') {
    const why = sandbox.notReady();
    if (why) plain(res, 503, `${why}\n`);
    else plain(res, 200, 'ready\n');
  } else {
    renderMetrics(server, sandbox).then(
      (text) => res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Cache-Control': 'no-store' }).end(text),
      (err) => {
        logError('metrics', err);
        if (!res.headersSent) plain(res, 500, 'Erreur interne');
        else res.destroy();
      },
    );
  }
  return true;
}

/** Node's own 'timeout' listener destroys a socket idle that long; once bytes come, Node's parser and keep-alive timeouts take over. */
function clearFirstByteTimeout(this: Socket): void {
  this.setTimeout(0);
}

export function createAppServer(options: AppServerOptions): AppServer {
  const serveStatic = createStaticHandler(options.distDir);
  // Node checks the head and request timeouts this often (30 s by default: a slowloris would get 30 s more).
  const server = createServer({ connectionsCheckingInterval: 1000 });
  const trust = options.trustProxy ?? null;
  const sandbox = createSandbox(server, {
    limits: options.limits,
    publicUrl: options.publicUrl,
    trustProxy: trust,
    sessionSecrets: options.sessionSecrets,
  });
  startSampler();
  // Time limits on request heads and bodies (Node's defaults are 60 s and 5 min: a slowloris
  // holds a socket that long), and on connections that never send a byte (Node has none).
  server.headersTimeout = sandbox.limits.headersTimeoutMs;
  server.requestTimeout = sandbox.limits.headersTimeoutMs * 3;
  // Under the process's open-file limit (20 000 here), so that accept() never fails for want of
  // descriptors; connections beyond it are dropped at once.
  server.maxConnections = sandbox.limits.maxTcpConnections;
  // Before anything else looks at a connection: past its IP's rate, a connection is closed
  // unread (a connection flood otherwise costs a head parse, a handshake and events each).
  // A trusted proxy's connections carry many clients: their rate is charged per request head to
  // the client the proxy names (forwardedRefused), not per connection to the proxy.
  const ipRate = new KeyedRate(sandbox.limits.ipConnectionsPerSecond, sandbox.limits.ipConnectionBurst);
  server.prependListener('connection', (socket) => {
    const ip = ipOf(socket.remoteAddress);
    if (!(trust && isTrusted(trust, ip)) && !ipRate.take(ip)) {
      recordLimit('ip-connection-rate', { action: 'closed at accept', ip });
      socket.destroy();
      return;
    }
    socket.setTimeout(sandbox.limits.headersTimeoutMs);
    socket.once('data', clearFirstByteTimeout);
  });
  // Past maxConnections, Node closes the new connection at accept and says so.
  server.on('drop', () => recordLimit('tcp-connections', { action: 'closed at accept' }));
  const tooFast = () =>
    `Trop de nouvelles connexions depuis votre adresse\u00a0: au plus ${sandbox.limits.ipConnectionsPerSecond} par seconde (rafale de ${sandbox.limits.ipConnectionBurst}).`;
  /** A request relayed by a trusted proxy, over its client's rate: true when refused. */
  function forwardedRefused(req: IncomingMessage): boolean {
    if (!trust || !isTrusted(trust, req.socket.remoteAddress)) return false;
    const ip = clientOf(trust, req).ip;
    if (ipRate.take(ip)) return false;
    recordLimit('ip-connection-rate', { action: 'http 429', ip });
    return true;
  }
  server.on('request', async (req, res) => {
    try {
      if (forwardedRefused(req)) {
        res.shouldKeepAlive = false;
        sendJson(res, 429, { error: tooFast() }, { 'Retry-After': '10' });
        return;
      }
      if (serveOps(req, res, server, sandbox)) return;
      if (sandbox.handleRequest(req, res)) return;
      if (await serveStatic(req, res)) return;
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Méthode non autorisée');
    } catch (err) {
      logError('request', err);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Erreur interne');
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      if (forwardedRefused(req)) refuseUpgrade(socket, 429, tooFast(), { 'Retry-After': '10' });
      else if (!sandbox.handleUpgrade(req, socket, head)) refuseUpgrade(socket, 404, 'Aucun service WebSocket à cette adresse.');
    } catch (err) {
      logError('upgrade', err);
      socket.destroy();
    }
  });
  let closing: Promise<void> | null = null;
  let draining: Promise<DrainEnd> | null = null;
  /** True while some session still has a connection or a monitor. */
  const anyoneLeft = () => {
    for (const s of sandbox.registry.values()) if (s.sockets.size > 0 || s.monitor.monitorCount > 0) return true;
    return false;
  };
  return {
    server,
    sandbox,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        ipRate.stop();
        await sandbox.shutdown();
        server.closeAllConnections();
        await stopped;
      })()),
    drain: (graceMs) =>
      (draining ??= new Promise<DrainEnd>((resolve) => {
        sandbox.drain(graceMs);
        const deadline = Date.now() + graceMs;
        const check = () => {
          if (Date.now() >= deadline) resolve('grace');
          else if (!anyoneLeft()) resolve('idle');
          else setTimeout(check, Math.min(DRAIN_CHECK_MS, deadline - Date.now()));
        };
        // The notices are flushed on the next tick: look after them.
        setTimeout(check, Math.min(DRAIN_CHECK_MS, graceMs));
      })),
  };
}
