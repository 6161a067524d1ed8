// The one http server of production: the built site plus the sandbox, on one port.
import { createServer, type Server } from 'node:http';
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

export function createAppServer(options: AppServerOptions): AppServer {
  const serveStatic = createStaticHandler(options.distDir);
  const server = createServer();
  const sandbox = createSandbox(server, { limits: options.limits, publicUrl: options.publicUrl });
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
        await sandbox.shutdown();
        server.closeAllConnections();
        await stopped;
      })()),
  };
}
