// `npm run bench -- cluster`: the frame → monitor load of the latency part (S sessions × 1 monitor
// + 2 echo clients at 1 message/s each, random phase) on the cluster of `npm run cluster` (HAProxy
// and 3 instances of sandbox-server/main.ts on loopback, scripts/cluster.ts), in two series with the
// same processes:
//   1. the S sessions on ONE instance, directly (no proxy): what one instance holds;
//   2. S sessions through HAProxy, spread over the 3 instances.
// Printed for each: sessions held per instance (/metrics), latency p50/p99/max and losses, CPU of
// each instance and of HAProxy (/proc/<pid>/stat), RSS of each, and the load average (uptime) at
// the start and the end. BENCH_CLUSTER_SESSIONS sets S (default 3000: through HAProxy that is
// 9 000 client connections and 18 000 of HAProxy's descriptors, under the 20 000 a process may
// open here), BENCH_CLUSTER_SECONDS the measured time (default 25).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { limitsToEnv } from '../sandbox-server/limits.ts';
import { parseExposition, sampleValue } from '../sandbox-server/metrics-parse.ts';
import { findHaproxy, NO_HAPROXY, startCluster } from '../scripts/cluster.ts';
import { BENCH_DIR, fmt, procCpuSeconds, procRssBytes, sleep, startChild } from './lib.ts';
import { BENCH_LIMITS } from './limits.ts';

export interface ClusterSeries {
  name: string;
  sessions: number;
  /** Sessions each instance held during the run (atelier_sessions). */
  held: number[];
  p50: number;
  p99: number;
  max: number;
  sent: number;
  lost: number;
  dropped: number;
  /** CPU share (1 = one core) of each instance, then HAProxy's. */
  cpu: number[];
  /** RSS of each instance, then HAProxy's, at the end of the measure (bytes). */
  rss: number[];
  /** Live memory of each instance at the end of the measure (atelier_live_memory_bytes: JS heap used + external). */
  live: number[];
  load: [string, string];
}

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return sampleValue(parseExposition(text), name) ?? Number.NaN;
}
const held = (port: number) => metric(port, 'atelier_sessions');

export async function clusterBench(log: (s?: string) => void): Promise<ClusterSeries[]> {
  if (!findHaproxy()) throw new Error(NO_HAPROXY);
  const sessions = Number(process.env.BENCH_CLUSTER_SESSIONS ?? 3000);
  const seconds = Number(process.env.BENCH_CLUSTER_SECONDS ?? 25);
  const port = Number(process.env.BENCH_CLUSTER_PORT ?? 4702);
  const cluster = await startCluster({
    instances: 3,
    port,
    // The bench's raised limits (bench/limits.ts); every other limit at its default.
    env: { ...limitsToEnv(BENCH_LIMITS), LOG_FORMAT: 'json' },
    maxconn: 9500,
    startTimeoutMs: 30_000,
  });
  const pids = [...cluster.instances.map((i) => i.child.pid as number), cluster.haproxy.pid as number];
  log(`   HAProxy ${cluster.url} (maxconn 9500), instances ${cluster.instances.map((i) => `${i.name} :${i.port}`).join(', ')}`);
  const results: ClusterSeries[] = [];
  try {
    for (const series of [
      { name: `1 instance, direct (${cluster.instances[0].name})`, port: cluster.instances[0].port },
      { name: '3 instances through HAProxy', port },
    ]) {
      const load0 = loadAverage();
      // Idle CPU of each instance (timers, sampler) over 2 s, to take off.
      const c0 = pids.map(procCpuSeconds);
      await sleep(2000);
      const idle = pids.map((pid, i) => (procCpuSeconds(pid) - c0[i]) / 2);
      const before = await Promise.all(cluster.instances.map((i) => held(i.port)));
      const client = startChild(join(BENCH_DIR, 'latency-client.ts'), [
        JSON.stringify({ port: series.port, serverPid: pids[0], serverPids: pids, sessions, seconds }),
      ]);
      await client.next('measuring', 300_000);
      const during = await Promise.all(cluster.instances.map((i) => held(i.port)));
      await client.next('measured', 300_000);
      const rss = pids.map(procRssBytes);
      const live = await Promise.all(cluster.instances.map((i) => metric(i.port, 'atelier_live_memory_bytes')));
      const r = await client.next<Record<string, number> & { serverCpuShares: number[] }>('result', 60_000);
      await client.stop();
      const s: ClusterSeries = {
        name: series.name,
        sessions,
        held: during.map((d, i) => d - before[i]),
        p50: r.p50,
        p99: r.p99,
        max: r.max,
        sent: r.sent,
        lost: r.lost,
        dropped: r.dropped,
        cpu: r.serverCpuShares,
        rss,
        live,
        load: [load0, loadAverage()],
      };
      results.push(s);
      const names = [...cluster.instances.map((i) => i.name), 'haproxy'];
      log(
        `   ${s.name}: ${r.sockets} client sockets (setup ${fmt(r.setupSeconds, 1)} s); sessions held ${s.held.map((h, i) => `${names[i]} ${h}`).join(', ')}`,
      );
      log(
        `      latency p50 ${fmt(s.p50, 2)} ms, p99 ${fmt(s.p99, 2)} ms, max ${fmt(s.max, 1)} ms; sent ${s.sent}, lost ${s.lost}, dropped ${s.dropped}; load process CPU ${fmt(r.clientCpuShare * 100)} %`,
      );
      log(`      CPU ${s.cpu.map((c, i) => `${names[i]} ${fmt(c * 100, 1)} %`).join(', ')}`);
      // The capacity model's inputs (deploy/README.md, « Dimensionner »): CPU per client message (its
      // echo and monitor events included), the instances' idle CPU (read before the series) taken off.
      const perSecond = s.sent / seconds;
      const instanceCpu = s.cpu.slice(0, -1).reduce((a, c, i) => a + Math.max(0, c - idle[i]), 0);
      log(
        `      per client message: instances ${fmt((instanceCpu / perSecond) * 1e6, 1)} µs of CPU, HAProxy ${fmt((s.cpu.at(-1)! / perSecond) * 1e6, 1)} µs ` +
          `(${fmt(perSecond)} messages/s of ${fmt(2 * sessions)} asked)`,
      );
      log(
        `      RSS ${s.rss.map((b, i) => `${names[i]} ${fmt(b / 2 ** 20, 1)} MiB`).join(', ')}; live memory ${s.live.map((b, i) => `${names[i]} ${fmt(b / 2 ** 20, 1)} MiB`).join(', ')}; load average ${s.load[0]} → ${s.load[1]}`,
      );
      // The sessions of this series end with their sockets' close only after the idle time: let the
      // sockets close before the next series.
      await sleep(2000);
    }
  } finally {
    await cluster.stop();
  }
  return results;
}
