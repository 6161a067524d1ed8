// Production entry point: one Node process serving the built site and the sandbox.
import { fileURLToPath } from 'node:url';
import { createAppServer } from './http-server.ts';

const port = Number(process.env.PORT ?? 4321);
const host = process.env.HOST ?? '127.0.0.1';
const distDir = fileURLToPath(new URL('../dist/', import.meta.url));

const app = createAppServer({ distDir });
app.server.listen(port, host, () => {
  const shown = host.includes(':') ? `[${host}]` : host;
  console.log(`Atelier WebSocket : http://${shown}:${port}/`);
});
app.server.on('error', (err) => {
  console.error(`Impossible d’écouter sur ${host}:${port} : ${err.message}`);
  process.exit(1);
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log('Arrêt…');
    app.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  });
}
