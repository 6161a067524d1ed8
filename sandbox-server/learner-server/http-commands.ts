// Validation of the host's HTTP commands (protocol/host.ts, `http-*`): every field checked, every
// size bounded, before anything touches a real ServerResponse. Pure: a text in, a command (and its
// decoded payload) or a refusal out. What depends on state (a head already sent, Content-Length
// against the bytes written, the byte budgets) is the relay's (http-relay.ts).
import type { HostErrorId, HostToSandbox, HostToSandboxHttp } from '#protocol/host';
import { parseCommandObject } from './commands.ts';
import type { CommandLimits, Parsed } from './commands.ts';
import { isIoObject, parseAnyHostCommand, parseIoObject } from './io-commands.ts';
import type { IoCommandLimits, IoParsed } from './io-commands.ts';

export interface HttpRefusal {
  id: HostErrorId;
  message: string;
  r?: number;
}

export type HttpParsed = { ok: true; command: HostToSandboxHttp; payload?: Buffer } | { ok: false; refusal: HttpRefusal };

/** Header names one head may hold. */
export const MAX_RESPONSE_HEADERS = 64;
/** Values one repeated header (an array: Set-Cookie) may hold. */
export const MAX_HEADER_VALUES = 32;
/** Characters of names and values of one head, together. */
export const MAX_HEAD_CHARS = 16 * 1024;
/** Longest status message (reason phrase). */
export const MAX_STATUS_MESSAGE = 256;

/** An HTTP token (RFC 9110 §5.6.2), as Node checks header names. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What Node accepts in a header value or a status message (its checkInvalidHeaderChar): no CR, LF, NUL, no character above U+00FF. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) the sandbox cannot honour: the connection is Node's, not
 * the learner's. Connection (keep-alive or close) and Transfer-Encoding (chunked) are honoured by
 * Node and accepted.
 */
const HOP_BY_HOP = new Set(['upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection', 'http2-settings']);

const COMMANDS = new Set(['http-head', 'http-write', 'http-end']);

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 2 ** 31;
}

const refuse = (id: HostErrorId, message: string, r?: number): HttpParsed => ({
  ok: false,
  refusal: r === undefined ? { id, message } : { id, message, r },
});

const shown = (s: string) => s.slice(0, 40);

/** A status the sandbox writes: 100–599 except 101 (a protocol switch is an `upgrade`'s business). */
export function isSendableStatus(status: unknown): status is number {
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599 && status !== 101;
}

/**
 * Response headers checked as Node would (token names, values Node accepts), with what the
 * sandbox adds: bounded sizes, no hop-by-hop header it cannot honour, one spelling per name.
 * Returns the headers, or the refusal's French message.
 */
export function checkResponseHeaders(v: unknown): Record<string, string | string[]> | string {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return '«\u00a0headers\u00a0» doit être un objet (nom → valeur).';
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_RESPONSE_HEADERS) return `Trop d’en-têtes de réponse\u00a0: au plus ${MAX_RESPONSE_HEADERS}.`;
  const out: Record<string, string | string[]> = {};
  const seen = new Set<string>();
  let chars = 0;
  for (const [name, value] of entries) {
    if (!TOKEN.test(name) || name.length > 256)
      return `Nom d’en-tête invalide «\u00a0${shown(name)}\u00a0»\u00a0: un jeton HTTP est attendu.`;
    const lower = name.toLowerCase();
    if (seen.has(lower)) return `En-tête «\u00a0${shown(name)}\u00a0» donné deux fois (la casse ne compte pas).`;
    seen.add(lower);
    if (HOP_BY_HOP.has(lower))
      return `En-tête «\u00a0${shown(name)}\u00a0» non pris en charge\u00a0: il concerne la connexion, que le bac à sable garde.`;
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0 || values.length > MAX_HEADER_VALUES)
      return `En-tête «\u00a0${shown(name)}\u00a0»\u00a0: de 1 à ${MAX_HEADER_VALUES} valeurs.`;
    if (Array.isArray(value) && (lower === 'content-length' || lower === 'connection' || lower === 'transfer-encoding'))
      return `En-tête «\u00a0${shown(name)}\u00a0»\u00a0: une seule valeur.`;
    for (const one of values) {
      if (typeof one !== 'string') return `En-tête «\u00a0${shown(name)}\u00a0»\u00a0: les valeurs sont des chaînes.`;
      if (!FIELD_VALUE.test(one))
        return `Caractère invalide dans la valeur de l’en-tête «\u00a0${shown(name)}\u00a0» (retour à la ligne, caractère nul ou hors Latin-1).`;
      chars += name.length + one.length;
    }
    if (chars > MAX_HEAD_CHARS) return `En-têtes de réponse trop longs\u00a0: au plus ${MAX_HEAD_CHARS} caractères en tout.`;
    const single = values[0] as string;
    if (lower === 'content-length' && !/^\d{1,15}$/.test(single.trim()))
      return '«\u00a0Content-Length\u00a0» doit être un nombre entier d’octets.';
    if (lower === 'connection' && !/^(keep-alive|close)$/i.test(single.trim()))
      return '«\u00a0Connection\u00a0»\u00a0: seules les valeurs keep-alive et close sont prises en charge.';
    if (lower === 'transfer-encoding' && !/^chunked$/i.test(single.trim()))
      return '«\u00a0Transfer-Encoding\u00a0»\u00a0: seule la valeur chunked est prise en charge.';
    out[name] = Array.isArray(value) ? (value as string[]).slice() : single;
  }
  return out;
}

/** The bytes of an `http-write` / `http-end` (data absent: none), or a refusal. */
function payloadOf(o: Record<string, unknown>, max: number, r: number, optional: boolean): Buffer | HttpParsed {
  if (o.data === undefined && optional) {
    if (o.b64 !== undefined) return refuse('HOST_ERR_BAD_FIELD', '«\u00a0b64\u00a0» sans «\u00a0data\u00a0».', r);
    return Buffer.alloc(0);
  }
  if (typeof o.data !== 'string') return refuse('HOST_ERR_BAD_FIELD', '«\u00a0data\u00a0» doit être une chaîne.', r);
  if (o.b64 !== undefined && typeof o.b64 !== 'boolean') return refuse('HOST_ERR_BAD_FIELD', '«\u00a0b64\u00a0» doit être un booléen.', r);
  // Checked before decoding: a base64 text is 4/3 of its bytes, UTF-8 at most 3 bytes per unit.
  if (o.data.length > (o.b64 ? Math.ceil(max / 3) * 4 : max))
    return refuse('HOST_ERR_TOO_BIG', `Morceau de réponse trop grand\u00a0: au plus ${max}\u00a0octets par commande.`, r);
  if (o.b64 && (!BASE64.test(o.data) || o.data.length % 4 !== 0))
    return refuse('HOST_ERR_BAD_FIELD', '«\u00a0data\u00a0» n’est pas du base64 valide.', r);
  const bytes = o.b64 ? Buffer.from(o.data, 'base64') : Buffer.from(o.data, 'utf8');
  if (bytes.length > max)
    return refuse('HOST_ERR_TOO_BIG', `Morceau de réponse trop grand\u00a0: au plus ${max}\u00a0octets par commande.`, r);
  return bytes;
}

/** Parses one host message object whose `t` is an HTTP command. */
export function parseHttpObject(o: Record<string, unknown>, limits: CommandLimits): HttpParsed {
  const t = o.t;
  if (typeof t !== 'string' || !COMMANDS.has(t))
    return refuse('HOST_ERR_UNKNOWN_COMMAND', `Commande inconnue «\u00a0${shown(String(t))}\u00a0».`);
  if (!isId(o.r)) return refuse('HOST_ERR_BAD_FIELD', '«\u00a0r\u00a0» doit être un identifiant de requête (entier positif).');
  const r = o.r;
  if (t === 'http-head') {
    if (!isSendableStatus(o.status))
      return refuse(
        'HOST_ERR_BAD_STATUS',
        `Statut HTTP invalide «\u00a0${shown(String(o.status))}\u00a0»\u00a0: de 100 à 599, sauf 101.`,
        r,
      );
    if (o.message !== undefined && (typeof o.message !== 'string' || o.message.length > MAX_STATUS_MESSAGE || !FIELD_VALUE.test(o.message)))
      return refuse('HOST_ERR_BAD_FIELD', `«\u00a0message\u00a0»\u00a0: une ligne d’au plus ${MAX_STATUS_MESSAGE} caractères Latin-1.`, r);
    for (const flag of ['implicit', 'flush'] as const) {
      if (o[flag] !== undefined && typeof o[flag] !== 'boolean')
        return refuse('HOST_ERR_BAD_FIELD', `«\u00a0${flag}\u00a0» doit être un booléen.`, r);
    }
    const headers = checkResponseHeaders(o.headers ?? {});
    if (typeof headers === 'string') return refuse('HOST_ERR_BAD_HEADER', headers, r);
    const command: HostToSandboxHttp = { t: 'http-head', r, status: o.status, headers };
    if (o.message !== undefined) command.message = o.message as string;
    if (o.implicit) command.implicit = true;
    if (o.flush) command.flush = true;
    return { ok: true, command };
  }
  if (t === 'http-end' && o.destroy !== undefined) {
    if (typeof o.destroy !== 'boolean') return refuse('HOST_ERR_BAD_FIELD', '«\u00a0destroy\u00a0» doit être un booléen.', r);
    if (o.destroy && o.data !== undefined)
      return refuse('HOST_ERR_BAD_FIELD', '«\u00a0destroy\u00a0» coupe la réponse\u00a0: pas de «\u00a0data\u00a0».', r);
    if (o.destroy) return { ok: true, command: { t: 'http-end', r, destroy: true } };
  }
  const payload = payloadOf(o, limits.maxPayload, r, t === 'http-end');
  if (!Buffer.isBuffer(payload)) return payload;
  return { ok: true, command: t === 'http-write' ? { t: 'http-write', r, data: '' } : { t: 'http-end', r }, payload };
}

/** True for a parsed command that is an HTTP one. */
export function isHttpCommand(cmd: HostToSandbox): cmd is HostToSandboxHttp {
  return cmd.t === 'http-head' || cmd.t === 'http-write' || cmd.t === 'http-end';
}

/** Parses one host message text that is an HTTP command. */
export function parseHttpCommand(text: string, limits: CommandLimits): HttpParsed {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return refuse('HOST_ERR_BAD_JSON', 'Commande illisible (JSON invalide).');
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return refuse('HOST_ERR_BAD_JSON', 'Une commande est un objet JSON.');
  return parseHttpObject(o as Record<string, unknown>, limits);
}

/**
 * Parses any host message: HTTP commands here, the others by io-commands.ts and commands.ts. The
 * façade writes `t` first, so the text alone routes it; a command written otherwise is parsed twice.
 */
export function parseHostMessage(text: string, limits: CommandLimits & IoCommandLimits): Parsed | IoParsed | HttpParsed {
  if (text.startsWith('{"t":"http-')) return parseHttpCommand(text, limits);
  const parsed = parseAnyHostCommand(text, limits);
  if (!parsed.ok && parsed.refusal.id === 'HOST_ERR_UNKNOWN_COMMAND' && text.includes('"http-')) return parseHttpCommand(text, limits);
  return parsed;
}

/** Parses one host message already read from JSON (an element of a batch): any kind of command. */
export function parseHostObject(o: unknown, limits: CommandLimits & IoCommandLimits): Parsed | IoParsed | HttpParsed {
  if (isIoObject(o)) return parseIoObject(o, limits);
  const t = o && typeof o === 'object' ? (o as { t?: unknown }).t : undefined;
  if (typeof t === 'string' && t.startsWith('http-')) return parseHttpObject(o as Record<string, unknown>, limits);
  return parseCommandObject(o, limits);
}
