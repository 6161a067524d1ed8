// `npm run cluster`: N sandbox instances on loopback and HAProxy in front of them, for a try of
// the deployment of deploy/README.md on one machine. Options: --instances N (default 3), PORT
// (HAProxy's port, default 8080). Ctrl-C stops everything.
//
// startCluster() is also what the cluster's integration test and `npm run bench -- cluster` use.
// The instances listen on 127.0.0.1 (ports chosen by the system); HAProxy connects to them from
// 127.0.0.2, the only address they trust (TRUST_PROXY): a browser or a test client on 127.0.0.1 is
// then a client, not a proxy, whatever X-Forwarded-For it writes. One SESSION_SECRET per run,
// shared by the instances.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { haproxyConfig } from './haproxy-config.ts';
import type { HaproxyOptions } from './haproxy-config.ts';

const root = new URL('..', import.meta.url).pathname;
export const HAPROXY_SOURCE = '127.0.0.2';
const HAPROXY_PATHS = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy'];

/** The haproxy binary (the HAPROXY env alone when set; else the Debian path, or the PATH), or null. */
export function findHaproxy(): string | null {
  const candidates = process.env.HAPROXY ? [process.env.HAPROXY] : [...HAPROXY_PATHS, 'haproxy'];
  for (const c of candidates) {
    const r = spawnSync(c, ['-v'], { encoding: 'utf8' });
    if (r.status === 0 && /HAProxy version/.test(r.stdout)) return c;
  }
  return null;
}

export const NO_HAPROXY =
  'HAProxy est introuvable (paquet Debian «\u00a0haproxy\u00a0»\u00a0: sudo apt-get install haproxy).\n' +
  'HAProxy not found (Debian package "haproxy": sudo apt-get install haproxy).';

export interface Instance {
  name: string;
  port: number;
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** What the instance wrote (JSON log lines), its last MiB. */
  out(): string;
  exited: Promise<number | null>;
}

export interface Cluster {
  /** http://127.0.0.1:<port>/ of HAProxy. */
  url: string;
  port: number;
  instances: Instance[];
  haproxy: ChildProcessByStdio<null, Readable, Readable>;
  /** HAProxy's output, its last MiB. */
  haproxyOut(): string;
  /** The configuration HAProxy runs. */
  config: string;
  /** Stops HAProxy and every instance still running (SIGINT: they close their sessions at once). */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  instances: number;
  /** HAProxy's port on 127.0.0.1. */
  port: number;
  /** More environment for every instance (limits, DRAIN_GRACE_MS…). */
  env?: Record<string, string>;
  /** Health-check timings of HAProxy (defaults: deploy/haproxy.cfg's production ones). */
  check?: Pick<HaproxyOptions, 'checkInterMs' | 'checkFall' | 'checkRise'>;
  maxconn?: number;
  haproxy?: string;
  /** Milliseconds to wait for every process to be up. */
  startTimeoutMs?: number;
}

function waitFor(what: string, ms: number, test: () => boolean, failed: () => string | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const look = () => {
      const failure = failed();
      if (failure) reject(new Error(`${what}: ${failure}`));
      else if (test()) resolve();
      else if (Date.now() > deadline) reject(new Error(`${what}: not ready after ${ms} ms`));
      else setTimeout(look, 20);
    };
    look();
  });
}

/** What a process wrote is kept up to this many characters (its latest output): a cluster may run for days. */
const OUTPUT_KEPT = 1 << 20;
const tail = (text: string) => (text.length > OUTPUT_KEPT ? text.slice(-OUTPUT_KEPT) : text);

function startInstance(name: string, env: Record<string, string>): Instance {
  const child = spawn(join(root, 'node_modules/.bin/node'), ['sandbox-server/main.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = tail(out + d);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  return { name, port: 0, child, out: () => out, exited };
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const haproxyBin = options.haproxy ?? findHaproxy();
  if (!haproxyBin) throw new Error(NO_HAPROXY);
  const secret = randomBytes(32).toString('base64');
  const env = { TRUST_PROXY: HAPROXY_SOURCE, SESSION_SECRET: secret, ...options.env };
  const instances = Array.from({ length: options.instances }, (_, i) => startInstance(`a${i + 1}`, env));
  const dir = mkdtempSync(join(tmpdir(), 'atelier-cluster-'));
  let haproxy: Cluster['haproxy'] | null = null;
  const stop = async () => {
    const all = [...instances.map((i) => ({ child: i.child, exited: i.exited }))];
    if (haproxy) {
      const h = haproxy;
      all.push({ child: h, exited: new Promise((r) => (h.exitCode !== null || h.signalCode ? r(h.exitCode) : h.once('exit', r))) });
    }
    for (const p of all) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGINT');
    const timer = setTimeout(() => {
      for (const p of all) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    }, 8000);
    await Promise.all(all.map((p) => p.exited));
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const timeout = options.startTimeoutMs ?? 15_000;
    await Promise.all(
      instances.map(async (inst) => {
        await waitFor(
          `instance ${inst.name}`,
          timeout,
          () => /"url":"http:\/\/127\.0\.0\.1:(\d+)\//.test(inst.out()),
          () => (inst.child.exitCode !== null ? `exited (${inst.child.exitCode}): ${inst.out().slice(-500)}` : null),
        );
        inst.port = Number(/"url":"http:\/\/127\.0\.0\.1:(\d+)\//.exec(inst.out())?.[1]);
      }),
    );
    const config = haproxyConfig({
      bind: `127.0.0.1:${options.port}`,
      proto: 'http',
      servers: instances.map((i, n) => ({ name: i.name, id: n + 1, address: `127.0.0.1:${i.port}` })),
      source: HAPROXY_SOURCE,
      maxconn: options.maxconn ?? 4000,
      checkInterMs: options.check?.checkInterMs ?? 2000,
      checkFall: options.check?.checkFall ?? 3,
      checkRise: options.check?.checkRise ?? 2,
      header: '# npm run cluster (scripts/cluster.ts)',
    });
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, config);
    const h = spawn(haproxyBin, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy = h;
    let hOut = '';
    const keep = (d: Buffer) => {
      hOut = tail(hOut + d);
    };
    h.stdout.on('data', keep);
    h.stderr.on('data', keep);
    // Ready once a session path reaches an instance through it: the JSON 404 of an unknown session
    // (not the site's home page: dist/ may not be built yet, e.g. while npm test builds it).
    const url = `http://127.0.0.1:${options.port}/`;
    const deadline = Date.now() + timeout;
    for (;;) {
      if (h.exitCode !== null) throw new Error(`haproxy exited (${h.exitCode}): ${hOut.slice(-1000)}`);
      const ok = await fetch(`${url}api/sessions/readiness-probe`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status === 404 && /json/.test(r.headers.get('content-type') ?? ''),
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`haproxy not answering on ${url}: ${hOut.slice(-1000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { url, port: options.port, instances, haproxy: h, haproxyOut: () => hOut, config, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `npm run cluster [-- --instances N]` */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--instances');
  const count = at >= 0 ? Number(args[at + 1]) : 3;
  const port = Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(count) || count < 1 || count > 16) {
    console.error('--instances\u00a0: un entier de 1 à 16.');
    process.exit(2);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error('PORT\u00a0: un port de 1 à 65535.');
    process.exit(2);
  }
  if (!findHaproxy()) {
    console.error(NO_HAPROXY);
    process.exit(1);
  }
  const { buildSiteIfNeeded } = await import('./build-if-needed.ts');
  buildSiteIfNeeded();
  const cluster = await startCluster({ instances: count, port }).catch((err: Error) => {
    console.error(`Le groupe n’a pas démarré\u00a0: ${err.message}`);
    process.exit(1);
  });
  console.log(`Atelier WebSocket (HAProxy + ${count} instance${count > 1 ? 's' : ''})\u00a0: ${cluster.url}`);
  for (const i of cluster.instances) console.log(`  ${i.name}\u00a0: http://127.0.0.1:${i.port}/ (métriques\u00a0: /metrics)`);
  console.log('Ctrl-C arrête tout.');
  // Warnings and errors of the instances, and whatever HAProxy says, as they come.
  for (const i of cluster.instances) {
    i.child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (/"level":"(warn|error)"/.test(line)) console.log(`[${i.name}] ${line}`);
    });
    i.child.once('exit', (code) => console.log(`[${i.name}] arrêtée (code ${code}).`));
  }
  cluster.haproxy.stderr.on('data', (d: Buffer) => process.stdout.write(`[haproxy] ${d}`));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('Arrêt…');
    cluster.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
