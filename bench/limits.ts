// Sandbox limits raised for the load tests (passed to createAppServer({ limits })). The defaults
// (limits.ts: 50 msg/s per session, burst 100, 20 sessions and 100 connections per IP) protect a
// learner's machine and would refuse a benchmark's load by design; every other limit is the default.
import type { Limits } from '../sandbox-server/limits.ts';

export const BENCH_LIMITS: Partial<Limits> = {
  messagesPerSecond: 1_000_000_000,
  messageBurst: 1_000_000_000,
  maxSessionsPerIp: 100_000,
  maxConnectionsPerIp: 100_000,
  // The load client opens thousands of connections from one IP at once.
  connectionsPerSecond: 1_000_000,
  connectionBurst: 1_000_000,
  ipConnectionsPerSecond: 1_000_000,
  ipConnectionBurst: 1_000_000,
};
