// Production entry point: one Node process serving the built site and the sandbox.
// Configuration (README.md, deploy/README.md): HOST (default 127.0.0.1), PORT (default 4321),
// PUBLIC_URL, TRUST_PROXY and TRUST_PROXY_HEADER (proxy.ts), SESSION_SECRET or SESSION_SECRET_FILE
// (session-ids.ts), DRAIN_GRACE_MS, LOG_FORMAT, and the SANDBOX_* limits (limits.ts).
// Stop: SIGTERM drains (no new session, the sessions' pages are told, they go on for
// DRAIN_GRACE_MS), then closes every session (1001) and exits 0; SIGINT closes at once (1001). A
// second signal exits at once.
import { fileURLToPath } from 'node:url';
import { createAppServer } from './http-server.ts';
import { limitsFromEnv } from './limits.ts';
import { flushSuppressed, logError, logEvent, setLogOutput } from './log.ts';
import type { LogFormat } from './log.ts';
import { parseTrustProxy } from './proxy.ts';
import { secretsFromEnv } from './session-ids.ts';

/** Default and largest drain grace period (ms). */
export const DEFAULT_DRAIN_GRACE_MS = 30_000;
export const MAX_DRAIN_GRACE_MS = 15 * 60_000;
/** After the grace period, how long closing may take before the process exits anyway. */
const CLOSE_TIMEOUT_MS = 5000;

const logFormat: LogFormat =
  process.env.LOG_FORMAT === 'json' || process.env.LOG_FORMAT === 'text' ? process.env.LOG_FORMAT : process.stdout.isTTY ? 'text' : 'json';
setLogOutput((line) => process.stdout.write(`${line}\n`), logFormat);
if (process.env.LOG_FORMAT && process.env.LOG_FORMAT !== logFormat) {
  logEvent('config', { ignored: 'LOG_FORMAT', value: process.env.LOG_FORMAT.slice(0, 40) }, 'warn');
}

function fatal(message: string): never {
  logEvent('fatal', { message }, 'error', message);
  process.exit(1);
}

const port = Number(process.env.PORT ?? 4321);
const host = process.env.HOST ?? '127.0.0.1';
const distDir = fileURLToPath(new URL('../dist/', import.meta.url));
const trustProxy = parseTrustProxy(process.env.TRUST_PROXY, process.env.TRUST_PROXY_HEADER);
if (trustProxy instanceof Error) fatal(trustProxy.message);
const sessionSecrets = secretsFromEnv(process.env);
if (sessionSecrets instanceof Error) fatal(sessionSecrets.message);
const graceRaw = process.env.DRAIN_GRACE_MS;
const drainGraceMs = graceRaw === undefined || graceRaw === '' ? DEFAULT_DRAIN_GRACE_MS : Number(graceRaw);
if (!Number.isInteger(drainGraceMs) || drainGraceMs < 0 || drainGraceMs > MAX_DRAIN_GRACE_MS) {
  fatal(`DRAIN_GRACE_MS\u00a0: «\u00a0${String(graceRaw).slice(0, 40)}\u00a0» n’est pas un entier de 0 à ${MAX_DRAIN_GRACE_MS}`);
}

const app = createAppServer({
  distDir,
  limits: limitsFromEnv(),
  publicUrl: process.env.PUBLIC_URL || undefined,
  trustProxy,
  sessionSecrets,
});
const startedAt = Date.now();
app.server.listen(port, host, () => {
  const shown = host.includes(':') ? `[${host}]` : host;
  const actual = (app.server.address() as { port: number }).port;
  const url = `http://${shown}:${actual}/`;
  logEvent(
    'start',
    {
      url,
      pid: process.pid,
      node: process.version,
      publicUrl: process.env.PUBLIC_URL || undefined,
      trustProxy: trustProxy ? { proxies: trustProxy.entries, header: trustProxy.header } : null,
      drainGraceMs,
      // How many secrets, never which: one per process (random) or the cluster's.
      sessionSecrets: sessionSecrets.length || 'random',
      memoryBudget: app.sandbox.limits.memoryBudget,
    },
    'info',
    `Atelier WebSocket\u00a0: ${url}`,
  );
});
app.server.on('error', (err) => {
  // Only a failed listen is fatal; an error once listening (e.g. accept() out of descriptors)
  // concerns one connection attempt, not the sessions already served.
  if (app.server.listening) {
    logError('server', err);
    return;
  }
  fatal(`Impossible d’écouter sur ${host}:${port}\u00a0: ${err.message}`);
});
process.on('uncaughtException', (err) => {
  logError('uncaught', err);
  process.exit(1);
});

let stopping = false;

async function stop(signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  const sessions = app.sandbox.registry.size;
  if (signal === 'SIGTERM' && drainGraceMs > 0) {
    logEvent(
      'drain',
      { signal, sessions, graceMs: drainGraceMs },
      'info',
      `Arrêt demandé (${signal})\u00a0: plus de nouvelle session, ${sessions} session(s) prévenue(s), fin dans ${Math.ceil(drainGraceMs / 1000)}\u00a0s au plus (un second signal arrête tout de suite).`,
    );
    const ended = await app.drain(drainGraceMs);
    logEvent('drain-end', { ended, sessions: app.sandbox.registry.size });
  }
  const closing = app.sandbox.registry.size;
  setTimeout(() => {
    logEvent('stop', { signal, sessions: closing, forced: true, uptimeS: Math.round((Date.now() - startedAt) / 1000) }, 'warn');
    process.exit(0);
  }, CLOSE_TIMEOUT_MS).unref();
  await app.close();
  flushSuppressed();
  logEvent(
    'stop',
    { signal, sessions: closing, uptimeS: Math.round((Date.now() - startedAt) / 1000) },
    'info',
    `Arrêté (${closing} session(s) fermée(s) en 1001).`,
  );
  process.exit(0);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) {
      logEvent('stop', { signal, immediate: true }, 'warn', 'Second signal\u00a0: arrêt immédiat.');
      process.exit(1);
    }
    stopping = true;
    stop(signal).catch((err) => {
      logError('stop', err);
      process.exit(1);
    });
  });
}
