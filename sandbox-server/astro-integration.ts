// Astro integration: in `astro dev`, the sandbox runs on Astro's own port. The tap listens to
// the dev server's 'connection' events, sandbox upgrades are routed (others, such as Vite's HMR
// socket, are left alone), and a connect middleware answers /api/ and /s/.
// In astro.config.mjs:  integrations: [sandbox(), …]  with
//   import sandbox from './sandbox-server/astro-integration.ts';
import type { Server } from 'node:http';
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
          logger.warn('Pas de serveur HTTP (mode middleware) : bac à sable désactivé.');
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
        server.middlewares.use((req, res, next) => {
          if (!sandbox.handleRequest(req, res)) next();
        });
        httpServer.once('close', () => void sandbox.shutdown(500));
        logger.info('Bac à sable WebSocket actif sur /api/ et /s/');
      },
    },
  };
}
