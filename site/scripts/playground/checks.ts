// Exercise predicates over monitor events. Pure: no DOM, no I/O (unit-tested, and imported by e2e tests).
// The declarations (Check, Matcher…) are validated and typed by schema.ts; only their types come here,
// so zod stays out of the browser bundle.
import type { MonitorEvent } from '#protocol';
import type { Check, Matcher, NumberMatch, TextMatch } from './schema.ts';

export type { Check, Matcher, NumberMatch, TextMatch };

/**
 * Client labels learnt from the events: connection id → label (conn-open), and, because browsers
 * reuse keep-alive connections across clients, per request ("req:<conn>", from the `client`
 * query parameter of the last request head on that connection) and per Engine.IO session
 * ("sid:<sid>").
 */
export type ClientMap = Map<string, string | null>;

function queryOf(head: string): URLSearchParams {
  const target = head.slice(0, head.indexOf('\r\n') >>> 0).split(' ')[1] ?? '';
  const q = target.indexOf('?');
  return new URLSearchParams(q >= 0 ? target.slice(q + 1) : '');
}

/** Updates the map with what one event tells about client labels. */
export function learnClient(e: MonitorEvent, map: ClientMap): void {
  if (e.type === 'conn-open') {
    map.set(e.conn, e.client);
  } else if (e.type === 'http' && e.from === 'client') {
    const q = queryOf(e.head);
    const client = q.get('client');
    map.set(`req:${e.conn}`, client);
    const sid = q.get('sid');
    if (client && sid && !map.has(`sid:${sid}`)) map.set(`sid:${sid}`, client);
  } else if (e.type === 'eio' && e.packet === 'open' && e.from === 'server') {
    let sid = e.sid;
    if (!sid && e.data) {
      try {
        sid = (JSON.parse(e.data) as { sid?: string }).sid;
      } catch {
        /* not JSON */
      }
    }
    const client = map.get(`req:${e.conn}`) ?? map.get(e.conn);
    if (sid && client) map.set(`sid:${sid}`, client);
  } else if (e.type === 'eio' && e.from === 'server' && e.sio?.type === 0) {
    // Socket.IO CONNECT answer: {"sid": <Socket.IO socket id>} → the client of this Engine.IO session.
    const socketId = (e.sio.data as { sid?: unknown } | undefined)?.sid;
    const client = clientOf(e, map);
    if (typeof socketId === 'string' && client) map.set(`sio:${socketId}`, client);
  }
}

/** The client label of an event (undefined when unknown, null for an external client). */
export function clientOf(e: MonitorEvent, map: ClientMap): string | null | undefined {
  if (e.type === 'conn-open') return e.client;
  if (e.type === 'http' && e.from === 'client') {
    const own = queryOf(e.head).get('client');
    if (own) return own;
  }
  if (e.type === 'eio' && e.sid && map.has(`sid:${e.sid}`)) return map.get(`sid:${e.sid}`);
  const conn = (e as { conn?: unknown }).conn;
  if (typeof conn !== 'string') return undefined;
  if ((e.type === 'http' || e.type === 'http-body' || e.type === 'eio') && map.get(`req:${conn}`)) return map.get(`req:${conn}`);
  return map.get(conn);
}

export function clientMapOf(events: readonly MonitorEvent[], into: ClientMap = new Map()): ClientMap {
  for (const e of events) learnClient(e, into);
  return into;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function matchNumber(value: unknown, m: NumberMatch): boolean {
  if (typeof value !== 'number') return false;
  if (typeof m === 'number') return value === m;
  if (m.gt !== undefined && !(value > m.gt)) return false;
  if (m.gte !== undefined && !(value >= m.gte)) return false;
  if (m.lt !== undefined && !(value < m.lt)) return false;
  if (m.lte !== undefined && !(value <= m.lte)) return false;
  return true;
}

export function matchText(value: unknown, m: TextMatch): boolean {
  if (typeof value !== 'string') return false;
  if (typeof m === 'string') return value === m;
  if (m.includes !== undefined && !value.includes(m.includes)) return false;
  if (m.regex !== undefined && !new RegExp(m.regex).test(value)) return false;
  return true;
}

/** The text an event carries, for `text` matchers. */
export function textOf(e: MonitorEvent): string | undefined {
  switch (e.type) {
    case 'frame':
    case 'message':
    case 'http-body':
      return e.text;
    case 'eio':
      return e.data;
    case 'http':
      return e.body;
    case 'info':
    case 'violation':
    case 'limit':
      return e.message;
    default:
      return undefined;
  }
}

function field(e: MonitorEvent, name: string): unknown {
  return (e as unknown as Record<string, unknown>)[name];
}

/**
 * Does one event satisfy the matcher's fields about that event alone? `clients` resolves `client`
 * labels (conn → label). `gap` and `since` need the events before it: `judge` handles them.
 */
export function matches(e: MonitorEvent, m: Matcher, clients: ClientMap): boolean {
  if (m.type !== undefined && e.type !== m.type) return false;
  if (m.from !== undefined && field(e, 'from') !== m.from) return false;
  if (m.client !== undefined && clientOf(e, clients) !== m.client) return false;
  for (const key of ['opcode', 'fin', 'rsv1', 'masked', 'lengthForm', 'code', 'packet'] as const) {
    if (m[key] !== undefined && field(e, key) !== m[key]) return false;
  }
  if (m.length !== undefined && !matchNumber(field(e, 'length'), m.length)) return false;
  if (m.reason !== undefined && !matchText(field(e, 'reason'), m.reason)) return false;
  if (m.text !== undefined && !matchText(textOf(e), m.text)) return false;
  if (m.violation !== undefined && !(e.type === 'violation' && e.id === m.violation)) return false;
  if (m.head !== undefined && !(e.type === 'http' && matchText(e.head, m.head))) return false;
  if (m.payload !== undefined && !(e.type === 'frame' && matchText(e.payload, m.payload))) return false;
  if (m.sio !== undefined) {
    if (e.type !== 'eio' || !e.sio) return false;
    if (m.sio.type !== undefined && e.sio.type !== m.sio.type) return false;
    if (m.sio.event !== undefined && e.sio.event !== m.sio.event) return false;
    if (m.sio.nsp !== undefined && e.sio.nsp !== m.sio.nsp) return false;
  }
  return true;
}

/**
 * Calls `visit` for each event with the client labels known at that point (labels are learnt in
 * event order, so a response is attributed to the request before it on its connection).
 */
function walk(events: readonly MonitorEvent[], visit: (e: MonitorEvent, clients: ClientMap) => void): void {
  const clients: ClientMap = new Map();
  for (const e of events) {
    learnClient(e, clients);
    visit(e, clients);
  }
}

/**
 * A judge of one matcher over the events of a run, fed in order. Without `gap` it is `matches`;
 * with `gap`, it remembers the time (`t`) of the latest event matching `since` (or, without
 * `since`, the matcher's other fields) and compares the elapsed time of the next one. An event
 * matching `unless` (the judged event included) forgets that starting point, until the next `since` event.
 */
export function judge(m: Matcher): (e: MonitorEvent, clients: ClientMap) => boolean {
  const gap = m.gap;
  if (gap === undefined) return (e, clients) => matches(e, m, clients);
  const since = m.since;
  const unless = m.unless;
  let last: number | undefined;
  return (e, clients) => {
    const self = matches(e, m, clients);
    // An unless event forgets the starting point before it is judged itself.
    if (unless !== undefined && matches(e, unless, clients)) last = undefined;
    const ok = self && last !== undefined && matchNumber(e.t - last, gap);
    if (since === undefined ? self : matches(e, since, clients)) last = e.t;
    return ok;
  };
}

/** How many events match. */
export function countMatches(events: readonly MonitorEvent[], m: Matcher): number {
  let n = 0;
  const judged = judge(m);
  walk(events, (e, clients) => {
    if (judged(e, clients)) n++;
  });
  return n;
}

/** Is the matcher satisfied (≥ count events, default 1)? */
export function satisfied(events: readonly MonitorEvent[], m: Matcher): boolean {
  return countMatches(events, m) >= (m.count ?? 1);
}

export interface CheckResult {
  passed: boolean;
  /** Matchers of `expect` not yet satisfied (by index). */
  missing: number[];
  /** Matchers of `none` that some event matched (by index). */
  forbidden: number[];
  /** Lines of `serverLog` the server console has not shown (by index). */
  missingLogs: number[];
  /** Lines of `serverLogNone` the server console showed (by index). */
  forbiddenLogs: number[];
}

/**
 * `serverLines`: the text of each line the server console showed during the run (playgrounds
 * with server code), for `serverLog` and `serverLogNone`.
 */
export function evaluateCheck(check: Check, events: readonly MonitorEvent[], serverLines: readonly string[] = []): CheckResult {
  const expects = list(check.expect);
  const nones = list(check.none);
  const counts = expects.map(() => 0);
  const hit = nones.map(() => false);
  const expectJudges = expects.map(judge);
  const noneJudges = nones.map(judge);
  walk(events, (e, clients) => {
    expectJudges.forEach((judged, i) => {
      if (judged(e, clients)) counts[i]++;
    });
    noneJudges.forEach((judged, i) => {
      // Judged even once hit: a `gap` judge must see every event to keep its starting point.
      if (judged(e, clients)) hit[i] = true;
    });
  });
  const missing = expects.map((m, i) => (counts[i] >= (m.count ?? 1) ? -1 : i)).filter((i) => i >= 0);
  const forbidden = hit.map((h, i) => (h ? i : -1)).filter((i) => i >= 0);
  // Indexes of the log matchers whose line the console showed (shown = true) or did not.
  const logsWhere = (ms: Check['serverLog'], shown: boolean) =>
    list(ms).flatMap((m, i) => (serverLines.some((line) => matchText(line, m)) === shown ? [i] : []));
  const missingLogs = logsWhere(check.serverLog, false);
  const forbiddenLogs = logsWhere(check.serverLogNone, true);
  return {
    passed: missing.length === 0 && forbidden.length === 0 && missingLogs.length === 0 && forbiddenLogs.length === 0,
    missing,
    forbidden,
    missingLogs,
    forbiddenLogs,
  };
}
