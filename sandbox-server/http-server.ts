// The one http server of production: the built site plus the sandbox, on one port.
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { ipOf, KeyedRate } from './limits.ts';
import type { Limits } from './limits.ts';
import { createSandbox, type Sandbox } from './sandbox.ts';
import { refuseUpgrade } from './scenarios/common.ts';
import { createStaticHandler } from './static-files.ts';

export interface AppServerOptions {
  /** Folder of the built site (Astro's dist/). */
  distDir: string;
  /** Limit overrides (defaults in limits.ts). */
  limits?: Partial<Limits>;
  /** Public base URL announced to monitors (default: from the Host header). */
  publicUrl?: string;
}

export interface AppServer {
  server: Server;
  sandbox: Sandbox;
  /**
   * Graceful stop: monitors get `end` (reason "shutdown"), learner WebSockets are closed with
   * 1001, then the server stops accepting connections and closes the rest; resolves when done.
   */
  close(): Promise<void>;
}

/** Node's own 'timeout' listener destroys a socket idle that long; once bytes come, Node's parser and keep-alive timeouts take over. */
function clearFirstByteTimeout(this: Socket): void {
  this.setTimeout(0);
}

export function createAppServer(options: AppServerOptions): AppServer {
  const serveStatic = createStaticHandler(options.distDir);
  // Node checks the head and request timeouts this often (30 s by default: a slowloris would get 30 s more).
  const server = createServer({ connectionsCheckingInterval: 1000 });
  const sandbox = createSandbox(server, { limits: options.limits, publicUrl: options.publicUrl });
  // Time limits on request heads and bodies (Node's defaults are 60 s and 5 min: a slowloris
  // holds a socket that long), and on connections that never send a byte (Node has none).
  server.headersTimeout = sandbox.limits.headersTimeoutMs;
  server.requestTimeout = sandbox.limits.headersTimeoutMs * 3;
  // Under the process's open-file limit (20 000 here), so that accept() never fails for want of
  // descriptors; connections beyond it are dropped at once.
  server.maxConnections = sandbox.limits.maxTcpConnections;
  // Before anything else looks at a connection: past its IP's rate, a connection is closed
  // unread (a connection flood otherwise costs a head parse, a handshake and events each).
  const ipRate = new KeyedRate(sandbox.limits.ipConnectionsPerSecond, sandbox.limits.ipConnectionBurst);
  server.prependListener('connection', (socket) => {
    if (!ipRate.take(ipOf(socket.remoteAddress))) {
      socket.destroy();
      return;
    }
    socket.setTimeout(sandbox.limits.headersTimeoutMs);
    socket.once('data', clearFirstByteTimeout);
  });
  server.on('request', async (req, res) => {
    try {
      if (sandbox.handleRequest(req, res)) return;
      if (await serveStatic(req, res)) return;
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Méthode non autorisée');
    } catch (err) {
      console.error(err);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Erreur interne');
    }
  });
  server.on('upgrade', (req, socket, head) => {
    try {
      if (!sandbox.handleUpgrade(req, socket, head)) refuseUpgrade(socket, 404, 'Aucun service WebSocket à cette adresse.');
    } catch (err) {
      console.error(err);
      socket.destroy();
    }
  });
  let closing: Promise<void> | null = null;
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
  };
}
