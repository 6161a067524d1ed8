// /metrics in the Prometheus text exposition format (version 0.0.4), written by hand: the figures
// are plain numbers (stats.ts) or read when asked, and a client library would only format them.
// prom-client (15.1.3: two dependencies, @opentelemetry/api and tdigest) hashes the label object on
// every labelled inc(); here a hit costs one property increment. metrics.test.ts checks the output
// against the format's rules.
import type { Server } from 'node:http';
import { liveMemory } from './memory.ts';
import type { Sandbox } from './sandbox.ts';
import { LIMIT_HITS, LIMIT_KINDS, SAMPLED, STATS, WINDOW_S } from './stats.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'untyped';
export type Sample = [labels: Record<string, string> | null, value: number];

/** A label value as the format wants it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A HELP text: backslash and line feed escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value: Go's float syntax, with +Inf, -Inf and NaN. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Collects metric families in order; each family's HELP and TYPE once, its samples together. */
export class Exposition {
  private readonly lines: string[] = [];
  private readonly names = new Set<string>();

  family(name: string, type: MetricType, help: string, samples: Sample[]): this {
    if (!NAME.test(name) || this.names.has(name)) throw new Error(`bad or repeated metric name ${name}`);
    this.names.add(name);
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      let text = name;
      if (labels) {
        const parts: string[] = [];
        for (const [k, v] of Object.entries(labels)) {
          if (!LABEL.test(k) || k.startsWith('__')) throw new Error(`bad label name ${k}`);
          parts.push(`${k}="${escapeLabelValue(v)}"`);
        }
        text += `{${parts.join(',')}}`;
      }
      this.lines.push(`${text} ${formatValue(value)}`);
    }
    return this;
  }

  /** Shorthand for a family of one unlabelled sample. */
  one(name: string, type: MetricType, help: string, value: number): this {
    return this.family(name, type, help, [[null, value]]);
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

function connectionsOf(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((err, n) => resolve(err ? Number.NaN : n)));
}

/** The metrics of one production server and its sandbox. */
export async function renderMetrics(server: Server, sandbox: Sandbox): Promise<string> {
  let sessions = 0;
  let learnerSockets = 0;
  let webSockets = 0;
  for (const s of sandbox.registry.values()) {
    sessions++;
    learnerSockets += s.sockets.size;
    webSockets += s.websockets.size;
  }
  const tcp = await connectionsOf(server);
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  const notReady = sandbox.notReady();
  const x = new Exposition()
    .one('atelier_sessions', 'gauge', 'Live sandbox sessions.', sessions)
    .one('atelier_sessions_created_total', 'counter', 'Sessions created since start.', STATS.sessionsCreated)
    .one(
      'atelier_sessions_rerouted_total',
      'counter',
      'Session creations sent back to the load balancer with 307 (draining or over the memory budget).',
      STATS.sessionsRerouted,
    )
    .family('atelier_sessions_ended_total', 'counter', 'Sessions ended since start, by reason.', [
      [{ reason: 'expired' }, STATS.sessionsExpired],
      [{ reason: 'shutdown' }, STATS.sessionsShutdown],
    ])
    .family(
      'atelier_connections',
      'gauge',
      'Open connections: tcp (every TCP connection of the server), learner (attributed to a session: WebSocket, polling, SSE), websocket (learner WebSockets), monitor (monitor WebSockets).',
      [
        [{ kind: 'tcp' }, tcp],
        [{ kind: 'learner' }, learnerSockets],
        [{ kind: 'websocket' }, webSockets],
        [{ kind: 'monitor' }, sandbox.monitorCount],
      ],
    )
    .one('atelier_monitor_events_total', 'counter', 'Events put into session backlogs since start.', STATS.events)
    .one(
      'atelier_monitor_events_per_second',
      'gauge',
      `Events put into session backlogs per second, averaged over the last ${WINDOW_S} s.`,
      SAMPLED.eventsPerSecond,
    )
    .one(
      'atelier_monitor_dropped_events_total',
      'counter',
      'Events dropped from a backlog before every monitor had them (slow or absent monitor, backlog or memory budget).',
      STATS.droppedEvents,
    )
    .family(
      'atelier_limit_hits_total',
      'counter',
      'Limit hits since start, by limit (protocol/README.md, Limits and their answers).',
      LIMIT_KINDS.map((k) => [{ limit: k }, LIMIT_HITS[k]]),
    )
    .family('atelier_event_loop_delay_seconds', 'gauge', `Event-loop delay over the last complete ${WINDOW_S} s window.`, [
      [{ stat: 'p50' }, SAMPLED.loopDelayP50],
      [{ stat: 'p99' }, SAMPLED.loopDelayP99],
      [{ stat: 'max' }, SAMPLED.loopDelayMax],
    ])
    .one('process_resident_memory_bytes', 'gauge', 'Resident set size in bytes.', mem.rss)
    .family('atelier_heap_bytes', 'gauge', 'V8 heap: used and total (reserved) bytes.', [
      [{ kind: 'used' }, mem.heapUsed],
      [{ kind: 'total' }, mem.heapTotal],
    ])
    .one('atelier_external_memory_bytes', 'gauge', 'Memory outside the V8 heap (Buffers, zlib) in bytes.', mem.external)
    .one(
      'atelier_live_memory_bytes',
      'gauge',
      'Live memory as the memory budget reads it (heap used + external), before confirmation by a full collection.',
      liveMemory(),
    )
    .one('atelier_memory_budget_bytes', 'gauge', 'SANDBOX_MEMORY_BUDGET.', sandbox.limits.memoryBudget)
    .one(
      'atelier_backlog_chars',
      'gauge',
      'Characters of serialized events every session backlog holds together.',
      sandbox.registry.budget.used,
    )
    .one('atelier_draining', 'gauge', '1 while the server drains (no new session), else 0.', sandbox.draining ? 1 : 0)
    .one('atelier_ready', 'gauge', '1 when new sessions are accepted (/readyz answers 200), else 0.', notReady ? 0 : 1)
    .one('process_cpu_seconds_total', 'counter', 'User and system CPU time in seconds.', (cpu.user + cpu.system) / 1e6)
    .one('process_start_time_seconds', 'gauge', 'Start time of the process since the Unix epoch in seconds.', START_TIME_S);
  return x.toString();
}

const START_TIME_S = Math.round(Date.now() / 1000 - process.uptime());
