// Exercise predicates over monitor events. Pure: no DOM, no I/O (unit-tested, and imported by e2e tests).
import type { MonitorEvent } from '../../../sandbox-server/protocol.ts';

/** A numeric constraint: an exact value or bounds. */
export type NumberMatch = number | { gt?: number; gte?: number; lt?: number; lte?: number };
/** A text constraint: equality, substring or regular expression (source, no flags). */
export type TextMatch = string | { includes?: string; regex?: string };

/** Describes events; every field given must hold (see README.md for the meaning of each). */
export interface Matcher {
  type?: MonitorEvent['type'];
  from?: 'client' | 'server';
  client?: string;
  opcode?: number;
  fin?: boolean;
  rsv1?: boolean;
  masked?: boolean;
  length?: NumberMatch;
  lengthForm?: 7 | 16 | 64;
  code?: number;
  reason?: TextMatch;
  text?: TextMatch;
  packet?: string;
  sio?: { type?: number; event?: string; nsp?: string };
  head?: TextMatch;
  /** Minimum number of matching events (default 1). Ignored in `none`. */
  count?: number;
}

/** An exercise: passes when every `expect` matcher matches ≥ count events and no event matches a `none` matcher. */
export interface Check {
  id: string;
  label: string;
  expect: Matcher | Matcher[];
  none?: Matcher | Matcher[];
}

/** Maps connection ids to client labels, from conn-open events. */
export type ClientMap = Map<string, string | null>;

export function clientMapOf(events: readonly MonitorEvent[], into: ClientMap = new Map()): ClientMap {
  for (const e of events) if (e.type === 'conn-open') into.set(e.conn, e.client);
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

/** Does one event satisfy the matcher? `clients` resolves `client` labels (conn → label). */
export function matches(e: MonitorEvent, m: Matcher, clients: ClientMap): boolean {
  if (m.type !== undefined && e.type !== m.type) return false;
  if (m.from !== undefined && field(e, 'from') !== m.from) return false;
  if (m.client !== undefined) {
    const conn = field(e, 'conn');
    const label = e.type === 'conn-open' ? e.client : typeof conn === 'string' ? clients.get(conn) : undefined;
    if (label !== m.client) return false;
  }
  for (const key of ['opcode', 'fin', 'rsv1', 'masked', 'lengthForm', 'code', 'packet'] as const) {
    if (m[key] !== undefined && field(e, key) !== m[key]) return false;
  }
  if (m.length !== undefined && !matchNumber(field(e, 'length'), m.length)) return false;
  if (m.reason !== undefined && !matchText(field(e, 'reason'), m.reason)) return false;
  if (m.text !== undefined && !matchText(textOf(e), m.text)) return false;
  if (m.head !== undefined && !(e.type === 'http' && matchText(e.head, m.head))) return false;
  if (m.sio !== undefined) {
    if (e.type !== 'eio' || !e.sio) return false;
    if (m.sio.type !== undefined && e.sio.type !== m.sio.type) return false;
    if (m.sio.event !== undefined && e.sio.event !== m.sio.event) return false;
    if (m.sio.nsp !== undefined && e.sio.nsp !== m.sio.nsp) return false;
  }
  return true;
}

/** How many events match. */
export function countMatches(events: readonly MonitorEvent[], m: Matcher, clients = clientMapOf(events)): number {
  let n = 0;
  for (const e of events) if (matches(e, m, clients)) n++;
  return n;
}

/** Is the matcher satisfied (≥ count events, default 1)? */
export function satisfied(events: readonly MonitorEvent[], m: Matcher, clients = clientMapOf(events)): boolean {
  return countMatches(events, m, clients) >= (m.count ?? 1);
}

export interface CheckResult {
  passed: boolean;
  /** Matchers of `expect` not yet satisfied (by index). */
  missing: number[];
  /** Matchers of `none` that some event matched (by index). */
  forbidden: number[];
}

export function evaluateCheck(check: Check, events: readonly MonitorEvent[], clients = clientMapOf(events)): CheckResult {
  const missing = list(check.expect)
    .map((m, i) => (satisfied(events, m, clients) ? -1 : i))
    .filter((i) => i >= 0);
  const forbidden = list(check.none)
    .map((m, i) => (events.some((e) => matches(e, m, clients)) ? i : -1))
    .filter((i) => i >= 0);
  return { passed: missing.length === 0 && forbidden.length === 0, missing, forbidden };
}

/** Validates a check declaration (used at build time by the component): returns French error messages. */
export function validateCheck(c: unknown): string[] {
  const errors: string[] = [];
  if (!c || typeof c !== 'object') return ['un exercice doit être un objet { id, label, expect }'];
  const o = c as Record<string, unknown>;
  if (typeof o.id !== 'string' || !o.id) errors.push('« id » manquant');
  if (typeof o.label !== 'string' || !o.label) errors.push(`exercice « ${String(o.id)} » : « label » manquant`);
  if (o.expect === undefined) errors.push(`exercice « ${String(o.id)} » : « expect » manquant`);
  for (const m of [...list(o.expect as Matcher | Matcher[]), ...list(o.none as Matcher | Matcher[])]) {
    errors.push(...validateMatcher(m).map((msg) => `exercice « ${String(o.id)} » : ${msg}`));
  }
  return errors;
}

const MATCHER_KEYS = new Set([
  'type', 'from', 'client', 'opcode', 'fin', 'rsv1', 'masked', 'length', 'lengthForm', 'code', 'reason', 'text',
  'packet', 'sio', 'head', 'count',
]);

export function validateMatcher(m: unknown): string[] {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return ['un critère doit être un objet'];
  const errors: string[] = [];
  for (const key of Object.keys(m)) if (!MATCHER_KEYS.has(key)) errors.push(`champ de critère inconnu « ${key} »`);
  const regex = (m as Matcher).text;
  if (regex && typeof regex === 'object' && regex.regex !== undefined) {
    try {
      new RegExp(regex.regex);
    } catch {
      errors.push(`expression régulière invalide « ${regex.regex} »`);
    }
  }
  return errors;
}
