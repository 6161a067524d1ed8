// The cluster of deploy/README.md on loopback: the real HAProxy (Debian package) in front of three
// real instances (sandbox-server/main.ts), as `npm run cluster` starts them (scripts/cluster.ts).
// It proves: sessions created through the proxy spread over the instances; every kind of traffic
// of a session (WebSocket scenario, Socket.IO polling then upgrade, SSE, long polling, monitor,
// learner-server host channel) reaches the one instance that holds it; HAProxy never mixes two
// clients on one instance connection; per-IP limits count the real client, not the proxy; a
// drained instance takes no new session while its sessions go on; killing an instance ends only
// its sessions, and new sessions work.
// Skipped, with the reason, only when haproxy is not installed (.ci/run installs it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connectIo } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { parseExposition, sampleValue } from '../sandbox-server/metrics-parse.ts';
import { openHost } from '../sandbox-server/learner-server/test-host.ts';
import { runServerCode } from '../site/scripts/playground/server-runtime/run.ts';
import { closed, Monitor, nextMessage, openWs, sleep, within } from '../sandbox-server/test-helpers.ts';
import type { TestApp } from '../sandbox-server/test-helpers.ts';
import { findHaproxy, HAPROXY_SOURCE, NO_HAPROXY, startCluster } from './cluster.ts';
import type { Cluster, Instance } from './cluster.ts';

const haproxy = findHaproxy();
if (!haproxy) console.warn(`scripts/cluster.integration.test.ts skipped: ${NO_HAPROXY}`);

/** A free port on 127.0.0.1 for HAProxy (CLUSTER_TEST_PORT to choose one). */
async function freePort(): Promise<number> {
  if (process.env.CLUSTER_TEST_PORT) return Number(process.env.CLUSTER_TEST_PORT);
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

let cluster: Cluster;
/** The proxy seen as a TestApp, for the sandbox's test helpers. */
let proxy: TestApp;

/** One HTTP request from a chosen local address (127.0.0.x); status and body. */
function call(
  url: string,
  options: { method?: string; from?: string; agent?: Agent | false; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return within(
    new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: options.method ?? 'GET',
          localAddress: options.from ?? '127.0.0.1',
          agent: options.agent ?? false,
          headers: options.headers,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        },
      );
      req.on('error', reject);
      req.end();
    }),
    5000,
    `${options.method ?? 'GET'} ${url}`,
  );
}

/** POST /api/sessions through the proxy, following its 307s as a browser does. */
async function create(query = ''): Promise<{ id: string; hostSecret?: string }> {
  const res = await fetch(`${cluster.url}api/sessions${query}`, { method: 'POST', signal: AbortSignal.timeout(5000) });
  if (res.status !== 201) throw new Error(`POST /api/sessions → ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; hostSecret?: string };
}

/** The instances that hold session `id` (asked directly, not through the proxy). */
async function holders(id: string, among = cluster.instances): Promise<Instance[]> {
  const found: Instance[] = [];
  for (const i of among) {
    if (i.child.exitCode !== null || i.child.signalCode !== null) continue;
    if ((await call(`http://127.0.0.1:${i.port}/api/sessions/${id}`)).status === 200) found.push(i);
  }
  return found;
}

async function ownerOf(id: string): Promise<Instance> {
  const h = await holders(id);
  expect(h.length, `instances holding ${id.slice(0, 8)}`).toBe(1);
  return h[0];
}

async function metric(i: Instance, name: string, labels?: Record<string, string>): Promise<number> {
  const text = (await call(`http://127.0.0.1:${i.port}/metrics`)).body;
  return sampleValue(parseExposition(text), name, labels) ?? Number.NaN;
}

/** Echo through the proxy: a message sent on a new WebSocket comes back. */
async function echoes(id: string): Promise<boolean> {
  const ws = await openWs(`${proxy.ws}/s/${id}/echo`);
  ws.send('bonjour');
  const reply = (await nextMessage(ws)).data.toString();
  ws.close();
  return reply === 'bonjour';
}

describe.skipIf(!haproxy)('cluster: HAProxy + 3 instances', () => {
  beforeAll(async () => {
    cluster = await startCluster({
      instances: 3,
      port: await freePort(),
      // Short health checks: an instance killed is out of the ring in about half a second.
      check: { checkInterMs: 200, checkFall: 2, checkRise: 2 },
      env: { DRAIN_GRACE_MS: '60000', SANDBOX_MAX_SESSIONS_PER_IP: '40' },
    });
    const base = cluster.url.replace(/\/$/, '');
    proxy = { app: undefined as never, port: cluster.port, http: base, ws: base.replace(/^http/, 'ws'), close: async () => {} };
  }, 30_000);
  afterAll(() => cluster?.stop(), 15_000);

  it('deploy/haproxy.cfg is a valid configuration for this HAProxy (its TLS bind put aside: no certificate here)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'atelier-haproxy-'));
    try {
      const file = join(dir, 'haproxy.cfg');
      const text = readFileSync(new URL('../deploy/haproxy.cfg', import.meta.url), 'utf8');
      expect(text).toMatch(/^ {2}bind :443 ssl crt /m);
      writeFileSync(file, text.replace(/^ {2}bind :443 ssl crt .*$/m, '  bind 127.0.0.1:4321'));
      const check = spawnSync(haproxy as string, ['-c', '-f', file], { encoding: 'utf8' });
      expect(check.stdout + check.stderr).toMatch(/Configuration file is valid/);
      expect(check.stdout + check.stderr).not.toMatch(/WARNING|ALERT/);
      expect(check.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('spreads the sessions created through the proxy over the instances, each held by one', async () => {
    const count = new Map<string, number>();
    for (let n = 0; n < 30; n++) {
      const { id } = await create();
      const owner = await ownerOf(id);
      count.set(owner.name, (count.get(owner.name) ?? 0) + 1);
      expect((await call(`${cluster.url}api/sessions/${id}`)).status).toBe(200);
    }
    expect([...count.keys()].sort()).toEqual(['a1', 'a2', 'a3']);
    let created = 0;
    for (const i of cluster.instances) created += await metric(i, 'atelier_sessions_created_total');
    expect(created).toBeGreaterThanOrEqual(30);
  });

  it('sends every kind of traffic of a session to its instance', async () => {
    const { id } = await create();
    const owner = await ownerOf(id);
    const others = cluster.instances.filter((i) => i !== owner);
    const m = await Monitor.open(proxy, id);
    // WebSocket scenario.
    expect(await echoes(id)).toBe(true);
    // Socket.IO: polling, then upgrade to WebSocket.
    const s = connectIo(`${proxy.http}/comments`, { path: `/s/${id}/socket.io/`, reconnection: false, forceNew: true });
    await within(new Promise((r, j) => s.once('connect', () => r(null)).once('connect_error', j)), 5000, 'socket.io connect');
    await within(
      new Promise((r) => (s.io.engine.transport.name === 'websocket' ? r(null) : s.io.engine.once('upgrade', () => r(null)))),
      5000,
      'upgrade',
    );
    const thanks = within(new Promise<string>((r) => s.once('thanks', r)), 5000, 'thanks');
    s.emit('comment', { texte: 'via HAProxy' });
    expect(await thanks).toBe('Merci pour votre commentaire.');
    // SSE and long polling.
    const sse = await within(
      new Promise<string>((resolve, reject) => {
        const req = request(`${proxy.http}/s/${id}/match/events?interval=50`, (res) => {
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            buf += d;
            if (buf.includes('event: match')) {
              req.destroy();
              resolve(buf);
            }
          });
        });
        req.on('error', reject);
        req.end();
      }),
      5000,
      'SSE',
    );
    expect(sse).toMatch(/event: match/);
    expect((await call(`${proxy.http}/s/${id}/match/poll`)).status).toBe(200);
    // The monitor, opened through the proxy, saw each of them: they all reached the same instance.
    await m.waitFor((e) => e.type === 'eio' && e.packet === 'upgrade');
    await m.waitFor((e) => e.type === 'conn-open' && e.path === 'match/poll');
    const paths = m.of('conn-open').map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['echo', 'socket.io/', 'match/events', 'match/poll']));
    // The monitor's TCP peer is the proxy (its source address), as the sandbox README says.
    expect(m.of('conn-open').every((e) => String(e.remote).includes(HAPROXY_SOURCE))).toBe(true);
    // The owner counts the Socket.IO WebSocket and the monitor; the others count nothing of it.
    expect(await metric(owner, 'atelier_connections', { kind: 'websocket' })).toBeGreaterThanOrEqual(1);
    expect(await metric(owner, 'atelier_connections', { kind: 'monitor' })).toBeGreaterThanOrEqual(1);
    for (const o of others) expect(await metric(o, 'atelier_connections', { kind: 'monitor' })).toBe(0);
    s.disconnect();
    m.close();

    // A learner-server session: the host channel and the clients of the learner's code.
    const learner = await create('?server=1');
    const lOwner = await ownerOf(learner.id);
    const lm = await Monitor.open(proxy, learner.id);
    const host = await openHost(proxy, learner.id, learner.hostSecret as string);
    runServerCode(
      "const { WebSocketServer } = require('ws'); new WebSocketServer({ port: 8080 }).on('connection', (ws) => ws.on('message', (d) => ws.send('écho : ' + d)));",
      host.link,
    );
    const client = await openWs(`${proxy.ws}/s/${learner.id}/chat`);
    client.send('salut');
    expect((await nextMessage(client)).data.toString()).toBe('écho : salut');
    await lm.waitFor((e) => e.type === 'frame' && e.from === 'server' && e.text === 'écho : salut');
    expect(await metric(lOwner, 'atelier_connections', { kind: 'websocket' })).toBeGreaterThanOrEqual(1);
    client.close();
    host.ws.close();
    lm.close();
  });

  it('gives each client connection its own instance connection (http-reuse never)', async () => {
    // Two sessions on one instance, two keep-alive clients taking turns.
    const { id: a } = await create();
    const owner = await ownerOf(a);
    let b = '';
    for (let n = 0; n < 40 && !b; n++) {
      const { id } = await create();
      if ((await ownerOf(id)) === owner) b = id;
    }
    expect(b).not.toBe('');
    const ma = await Monitor.open(proxy, a);
    const mb = await Monitor.open(proxy, b);
    const one = new Agent({ keepAlive: true, maxSockets: 1 });
    const two = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let n = 0; n < 3; n++) {
      expect((await call(`${proxy.http}/s/${a}/match/poll`, { agent: one })).status).toBe(200);
      expect((await call(`${proxy.http}/s/${b}/match/poll`, { agent: two })).status).toBe(200);
    }
    await sleep(100);
    // Each session saw one connection, carrying its three requests and nothing else.
    for (const m of [ma, mb]) {
      const opens = m.of('conn-open');
      expect(opens.length).toBe(1);
      expect(m.of('conn-close').filter((e) => e.reason === 'reused')).toEqual([]);
      const requests = m.of('http').filter((e) => e.from === 'client');
      expect(requests.length).toBe(3);
      expect(new Set(requests.map((e) => e.conn)).size).toBe(1);
    }
    one.destroy();
    two.destroy();
    ma.close();
    mb.close();
  });

  it('counts per-IP limits against the real client, not the proxy', async () => {
    // From 127.0.0.3, sessions until an instance refuses one (40 per IP per instance).
    let refused: { status: number; body: string } | null = null;
    for (let n = 0; n < 200 && !refused; n++) {
      const res = await call(`${cluster.url}api/sessions`, { method: 'POST', from: '127.0.0.3' });
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(201);
    }
    expect(refused?.body).toMatch(/depuis votre adresse \(au plus 40\)/);
    const refuser = cluster.instances.find((i) => /"event":"limit","limit":"sessions".*"ip":"127\.0\.0\.3"/.test(i.out()));
    expect(refuser).toBeDefined();
    // The same instance still takes sessions from 127.0.0.1: the limit was 127.0.0.3's, not the proxy's.
    let taken = false;
    for (let n = 0; n < 40 && !taken; n++) {
      const res = await call(`${cluster.url}api/sessions`, { method: 'POST', from: '127.0.0.1' });
      expect(res.status).toBe(201);
      taken = (await holders(JSON.parse(res.body).id, [refuser as Instance])).length === 1;
    }
    expect(taken).toBe(true);
    // A forged X-Forwarded-For changes nothing: HAProxy appends the real address, which is read.
    const forged = await call(`${cluster.url}api/sessions`, {
      method: 'POST',
      from: '127.0.0.3',
      headers: { 'X-Forwarded-For': '192.0.2.99' },
    });
    if (forged.status === 201) expect((await holders(JSON.parse(forged.body).id)).length).toBe(1);
    expect(cluster.instances.some((i) => i.out().includes('192.0.2.99'))).toBe(false);
  });

  it('a drained instance takes no new session, and its sessions go on; a killed one ends only its own', async () => {
    // One session per instance, each with a monitor and a WebSocket open through the proxy.
    const live = new Map<Instance, { id: string; m: Monitor; ws: WebSocket }>();
    for (let n = 0; n < 60 && live.size < 3; n++) {
      const { id } = await create();
      const owner = await ownerOf(id);
      if (live.has(owner)) continue;
      const m = await Monitor.open(proxy, id);
      const ws = await openWs(`${proxy.ws}/s/${id}/echo`);
      live.set(owner, { id, m, ws });
    }
    expect(live.size).toBe(3);
    const [drained, killed, kept] = cluster.instances;
    const d = live.get(drained) as { id: string; m: Monitor; ws: WebSocket };
    const k = live.get(killed) as { id: string; m: Monitor; ws: WebSocket };
    const s = live.get(kept) as { id: string; m: Monitor; ws: WebSocket };

    drained.child.kill('SIGTERM');
    await d.m.waitFor((e) => e.type === 'draining');
    // Long enough for HAProxy's checks to have seen /readyz fail (200 ms × 2, and some margin): what
    // follows is what HAProxy does with a draining instance, not a race with its checks.
    await sleep(1000);
    // New sessions: none on the drained instance (it sends them back with 307, fetch follows).
    for (let n = 0; n < 15; n++) {
      const { id } = await create();
      const owner = await ownerOf(id);
      expect(owner).not.toBe(drained);
    }
    // Its session goes on through the proxy: the open WebSocket, and a new one.
    d.ws.send('encore là');
    expect((await nextMessage(d.ws)).data.toString()).toBe('encore là');
    expect(await echoes(d.id)).toBe(true);

    const killedMonitor = closed(k.m.ws, 5000);
    const killedWs = closed(k.ws, 5000);
    killed.child.kill('SIGKILL');
    await killedMonitor;
    await killedWs;
    // Once HAProxy saw it dead, its session is unknown (404, the page starts a new one)…
    await within(
      (async () => {
        while ((await call(`${cluster.url}api/sessions/${k.id}`)).status !== 404) await sleep(50);
      })(),
      5000,
      'killed session gone',
    );
    // …and a new session works (on the only instance left that takes sessions).
    const fresh = await create();
    expect(await ownerOf(fresh.id)).toBe(kept);
    const fm = await Monitor.open(proxy, fresh.id);
    expect(await echoes(fresh.id)).toBe(true);
    await fm.waitFor((e) => e.type === 'conn-open' && e.path === 'echo');
    fm.close();
    // The others were not touched: their monitors and WebSockets are open, and they echo.
    for (const other of [d, s]) {
      expect(other.m.closeCode).toBeNull();
      other.ws.send('toujours');
      expect((await nextMessage(other.ws)).data.toString()).toBe('toujours');
    }
    for (const other of [d, s]) {
      other.ws.close();
      other.m.close();
    }
  });
});
