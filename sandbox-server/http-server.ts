// The one http server of production: the built site plus the sandbox, on one port.
import { createServer, type Server } from 'node:http';
import { createStaticHandler } from './static-files.ts';

export interface AppServerOptions {
  /** Folder of the built site (Astro's dist/). */
  distDir: string;
}

export interface AppServer {
  server: Server;
  /** Stops accepting connections and closes open ones; resolves when all are gone. */
  close(): Promise<void>;
}

export function createAppServer(options: AppServerOptions): AppServer {
  const serveStatic = createStaticHandler(options.distDir);
  const server = createServer(async (req, res) => {
    try {
      if (await serveStatic(req, res)) return;
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Méthode non autorisée');
    } catch (err) {
      console.error(err);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Erreur interne');
    }
  });
  return {
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
