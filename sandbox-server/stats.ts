// Process-wide counters for /metrics. Plain numbers on objects of a fixed shape, incremented where
// things happen (an event into a backlog, a limit hit): no allocation, no label lookup, no call
// into a metrics library on the hot path. What can be read when asked (sessions, connections,
// memory) is not counted here but read at scrape time (metrics.ts).
// One sampler per process (a 1 s unref'd timer) turns the event count into a rate and the
// event-loop delay histogram into per-window figures.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { LimitEvent } from '#protocol';
import { flushSuppressed, logLimit } from './log.ts';

/** Limit kinds counted: the monitor's `limit` names, and two refusals made before any session is known. */
export const LIMIT_KINDS = [
  'connections',
  'rate',
  'payload',
  'sessions',
  'backlog',
  'ip-connections',
  'timeout',
  'memory',
  'engine-io',
  'buffer',
  'connection-rate',
  // New TCP connections (or, behind a trusted proxy, requests) over one client IP's rate.
  'ip-connection-rate',
  // Connections past SANDBOX_MAX_TCP_CONNECTIONS, dropped by Node at accept.
  'tcp-connections',
] as const;
export type LimitKind = (typeof LIMIT_KINDS)[number];
type Assert<T extends true> = T;
/** Compile-time: every limit the protocol names is counted. */
export type LimitKindsCoverProtocol = Assert<[LimitEvent['limit']] extends [LimitKind] ? true : false>;

export const STATS = {
  /** Events put into session backlogs (every monitor event but `hello` and `dropped`). */
  events: 0,
  /** Events dropped from a backlog before every monitor had them (or while none was connected). */
  droppedEvents: 0,
  sessionsCreated: 0,
  sessionsExpired: 0,
  sessionsShutdown: 0,
  /** POST /api/sessions sent back to the cluster's load balancer (307: draining or over the memory budget). */
  sessionsRerouted: 0,
};

export const LIMIT_HITS = Object.fromEntries(LIMIT_KINDS.map((k) => [k, 0])) as Record<LimitKind, number>;

/** Counts a limit hit and logs it (rate-limited per kind). */
export function recordLimit(kind: LimitKind, fields: Record<string, unknown>): void {
  LIMIT_HITS[kind]++;
  logLimit(kind, fields);
}

/** Seconds over which events/s is averaged, and the event-loop delay window. */
export const WINDOW_S = 10;

export interface Sampled {
  /** Events per second over the last WINDOW_S seconds (fewer just after start). */
  eventsPerSecond: number;
  /** Event-loop delay over the last complete window (seconds); 0 before the first. */
  loopDelayP50: number;
  loopDelayP99: number;
  loopDelayMax: number;
}

export const SAMPLED: Sampled = { eventsPerSecond: 0, loopDelayP50: 0, loopDelayP99: 0, loopDelayMax: 0 };

/**
 * The event-loop delay histogram's timer period (ms). Its figures are the time between two of its
 * timer runs, so the period is taken off them: what is left is the delay.
 */
const LOOP_RESOLUTION_MS = 10;
const delayOf = (ns: number) => Math.max(0, ns / 1e9 - LOOP_RESOLUTION_MS / 1000);

let sampler: NodeJS.Timeout | null = null;
let histogram: ReturnType<typeof monitorEventLoopDelay> | null = null;

/** Starts the per-process sampler (once; later calls do nothing). */
export function startSampler(): void {
  if (sampler) return;
  histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  histogram.enable();
  const counts = new Float64Array(WINDOW_S + 1);
  const times = new Float64Array(WINDOW_S + 1);
  let ticks = 0;
  counts.fill(STATS.events);
  times.fill(performance.now());
  sampler = setInterval(() => {
    ticks++;
    const slot = ticks % (WINDOW_S + 1);
    const oldest = ticks < WINDOW_S ? 0 : (ticks + 1) % (WINDOW_S + 1);
    counts[slot] = STATS.events;
    times[slot] = performance.now();
    const seconds = (times[slot] - times[oldest]) / 1000;
    SAMPLED.eventsPerSecond = seconds > 0 ? (counts[slot] - counts[oldest]) / seconds : 0;
    if (ticks % WINDOW_S === 0 && histogram) {
      // The histogram's figures are in nanoseconds.
      const any = histogram.count > 0;
      SAMPLED.loopDelayP50 = any ? delayOf(histogram.percentile(50)) : 0;
      SAMPLED.loopDelayP99 = any ? delayOf(histogram.percentile(99)) : 0;
      SAMPLED.loopDelayMax = any ? delayOf(histogram.max) : 0;
      histogram.reset();
      flushSuppressed();
    }
  }, 1000);
  sampler.unref();
}
