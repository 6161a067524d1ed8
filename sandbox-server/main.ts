// Production entry point: one Node process serving the built site and the sandbox.
// Configuration: HOST (default 127.0.0.1), PORT (default 4321), PUBLIC_URL, SANDBOX_* limits
// (see limits.ts and README.md).
import { fileURLToPath } from 'node:url';
import { createAppServer } from './http-server.ts';
import { limitsFromEnv } from './limits.ts';

const port = Number(process.env.PORT ?? 4321);
const host = process.env.HOST ?? '127.0.0.1';
const distDir = fileURLToPath(new URL('../dist/', import.meta.url));

const app = createAppServer({ distDir, limits: limitsFromEnv(), publicUrl: process.env.PUBLIC_URL || undefined });
app.server.listen(port, host, () => {
  const shown = host.includes(':') ? `[${host}]` : host;
  const actual = (app.server.address() as { port: number }).port;
  console.log(`Atelier WebSocket\u00a0: http://${shown}:${actual}/`);
});
app.server.on('error', (err) => {
  // Only a failed listen is fatal; an error once listening (e.g. accept() out of descriptors)
  // concerns one connection attempt, not the sessions already served.
  if (app.server.listening) {
    console.error(`Erreur du serveur (il continue)\u00a0: ${err.message}`);
    return;
  }
  console.error(`Impossible d’écouter sur ${host}:${port}\u00a0: ${err.message}`);
  process.exit(1);
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log('Arrêt… (fermeture des connexions en 1001)');
    app.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  });
}
