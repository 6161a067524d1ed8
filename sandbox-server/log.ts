// Structured logs: one line per event that matters (start, drain, stop, limit hits, errors), as
// JSON (`LOG_FORMAT=json`, the default when stdout is not a terminal: systemd's journal, a log
// shipper) or as a short readable line (`LOG_FORMAT=text`, the default on a terminal).
// Never logged: message contents, HTTP bodies, full session ids (sessionTag: 6 characters of 48, from the route key,
// not enough to use a session). Limit hits are rate-limited per kind, so that a flood cannot
// flood the log: past the rate, they are only counted, and the count is logged later
// (`limit-suppressed`).
// Until setLogOutput is called (tests of the sandbox in-process, the Astro dev server), nothing is
// logged but errors, to stderr as before.
import { TokenBucket } from './limits.ts';

export type LogFormat = 'json' | 'text';
export type LogLevel = 'info' | 'warn' | 'error';

/** Limit-hit lines per kind: this many per second, after a burst of LIMIT_LOG_BURST. */
export const LIMIT_LOG_RATE = 1;
export const LIMIT_LOG_BURST = 10;

let output: ((line: string) => void) | null = null;
let format: LogFormat = 'json';
const limitBuckets = new Map<string, TokenBucket>();
const suppressed = new Map<string, number>();

/** Where lines go (null: nowhere, errors to stderr) and how they look. */
export function setLogOutput(write: ((line: string) => void) | null, as: LogFormat = 'json'): void {
  output = write;
  format = as;
  limitBuckets.clear();
  suppressed.clear();
}

export function logging(): boolean {
  return output !== null;
}

/** The short form of a session id logs carry (enough to tell sessions apart, not to use one). */
export function sessionTag(id: string): string {
  return id.slice(0, 6);
}

function textValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/**
 * One log line: `{"time","level","event",…fields}`. `text` replaces the generic readable form in
 * text mode (e.g. the start line).
 */
export function logEvent(event: string, fields: Record<string, unknown> = {}, level: LogLevel = 'info', text?: string): void {
  if (!output) return;
  const time = new Date();
  if (format === 'json') {
    output(JSON.stringify({ time: time.toISOString(), level, event, ...fields }));
    return;
  }
  const clock = time.toISOString().slice(11, 23);
  const rest = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${textValue(v)}`)
    .join(' ');
  output(text ?? `${clock} ${level === 'info' ? '' : `${level.toUpperCase()} `}${event}${rest ? ` ${rest}` : ''}`);
}

/**
 * An error message without what it may quote: V8's messages can hold a piece of the input (a JSON
 * parse error quotes the text, quotes included), so the message is cut at its first quote.
 */
export function redactMessage(message: string): string {
  const quote = message.search(/["'`«]/);
  const kept = quote < 0 ? message : `${message.slice(0, quote)}…`;
  return kept.length > 200 ? `${kept.slice(0, 199)}…` : kept;
}

/** An error where it happened: name, code, redacted message, the first stack frames. */
export function logError(where: string, err: unknown): void {
  if (!output) {
    console.error(err);
    return;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const frames = (e.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .slice(0, 8)
    .map((l) => l.trim());
  const code = (e as { code?: unknown }).code;
  logEvent(
    'error',
    { where, name: e.name, code: typeof code === 'string' ? code : undefined, message: redactMessage(e.message), stack: frames },
    'error',
  );
}

/** A limit hit (already counted in stats.ts): logged within the per-kind rate, else counted as suppressed. */
export function logLimit(limit: string, fields: Record<string, unknown>): void {
  if (!output) return;
  let bucket = limitBuckets.get(limit);
  if (!bucket) {
    bucket = new TokenBucket(LIMIT_LOG_RATE, LIMIT_LOG_BURST);
    limitBuckets.set(limit, bucket);
  }
  if (bucket.take()) logEvent('limit', { limit, ...fields }, 'warn');
  else suppressed.set(limit, (suppressed.get(limit) ?? 0) + 1);
}

/** Logs the limit hits left out since the last call (every 10 s, and at stop). */
export function flushSuppressed(): void {
  if (suppressed.size === 0 || !output) return;
  const counts = Object.fromEntries(suppressed);
  suppressed.clear();
  logEvent('limit-suppressed', { counts }, 'warn');
}
