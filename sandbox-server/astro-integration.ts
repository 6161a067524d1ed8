// Astro integration: in `astro dev`, the sandbox runs on Astro's own port. The tap listens to
// the dev server's 'connection' events, sandbox upgrades are routed (others, such as Vite's HMR
// socket, are left alone), and /api/ and /s/ requests are answered before connect's middleware stack
// (Astro prepends its own guards to it). A Vite restart (config change) needs a dev server restart.
// In astro.config.mjs:  integrations: [sandbox(), …]  with
//   import sandbox from './sandbox-server/astro-integration.ts';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AstroIntegration } from 'astro';
import { limitsFromEnv } from './limits.ts';
import type { Limits } from './limits.ts';
import { createSandbox } from './sandbox.ts';

export interface SandboxIntegrationOptions {
  limits?: Partial<Limits>;
}

export default function sandboxIntegration(options: SandboxIntegrationOptions = {}): AstroIntegration {
  return {
    name: 'atelier-websocket-sandbox',
    hooks: {
      'astro:server:setup': ({ server, logger }) => {
        const httpServer = server.httpServer as Server | null;
        if (!httpServer) {
          logger.warn('Pas de serveur HTTP (mode middleware)\u00a0: bac à sable désactivé.');
          return;
        }
        const sandbox = createSandbox(httpServer, { limits: { ...limitsFromEnv(), ...options.limits } });
        httpServer.on('upgrade', (req, socket, head) => {
          try {
            sandbox.handleUpgrade(req, socket, head);
          } catch (err) {
            logger.error(String(err));
            socket.destroy();
          }
        });
        // Sandbox paths are answered before connect runs its stack: Astro puts its own guards
        // (route guard, trailing slash…) at the front of the stack after this hook.
        const app = server.middlewares as unknown as { handle: (req: IncomingMessage, res: ServerResponse, out?: unknown) => void };
        const handle = app.handle;
        app.handle = function (req, res, out) {
          if (!sandbox.handleRequest(req, res)) handle.call(this, req, res, out);
        };
        httpServer.once('close', () => void sandbox.shutdown(500));
        logger.info('Bac à sable WebSocket actif sur /api/ et /s/');
      },
    },
  };
}
