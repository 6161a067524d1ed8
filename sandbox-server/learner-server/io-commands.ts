// Validation of the host's Socket.IO commands (protocol/host.ts, `io-*`): every field checked,
// every size and count bounded, binary placeholders decoded, before anything touches the real
// socket.io server. Pure: a text in, a command (and its decoded arguments) or a refusal out.
// The rules that depend on state (rooms a socket already holds, namespaces, pending acks) are the
// relay's (socket-io-relay.ts).
import type { HostErrorId, HostToSandbox, HostToSandboxIo, IoCors, IoOptions, IoTarget } from '#protocol/host';
import { IO_MAX_RECOVERY_MS } from '#protocol/host';
import { parseHostCommand } from './commands.ts';
import type { CommandLimits, Parsed } from './commands.ts';

export interface IoCommandLimits {
  /** Largest emit (arguments as JSON, binary counted in bytes): the sandbox's maxPayload. */
  maxPayload: number;
}

export interface IoRefusal {
  id: HostErrorId;
  message: string;
  s?: number;
}

export type IoParsed = { ok: true; command: HostToSandboxIo; args?: unknown[] } | { ok: false; refusal: IoRefusal };

/** Longest event name. */
export const MAX_EVENT_NAME = 128;
/** Longest room name (as the built-in scenario). */
export const MAX_ROOM_NAME = 64;
/** Rooms one command may name (`to`, `except`, a join). */
export const MAX_ROOMS_PER_COMMAND = 32;
/** Deepest nesting of event arguments. */
export const MAX_ARGS_DEPTH = 32;
/** Longest namespace name. */
export const MAX_NSP_NAME = 64;
/** Longest socket.timeout(ms). */
export const MAX_TIMEOUT_MS = 600_000;
/** Bounds the relay brings the learner's engine options within (ms). */
export const IO_OPTION_BOUNDS = {
  pingInterval: [1000, 60_000],
  pingTimeout: [1000, 60_000],
  connectTimeout: [1000, 45_000],
  // How long the real server keeps a disconnected socket's state and missed packets: memory held
  // for a socket that may never come back (socket.io's default is 2 minutes).
  maxDisconnectionDuration: [0, IO_MAX_RECOVERY_MS],
} as const;
/** Event names socket.io refuses to emit (its RESERVED_EVENTS). */
export const RESERVED_EVENTS = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

const COMMANDS = new Set([
  'io-attach',
  'io-nsp',
  'io-close',
  'io-next',
  'io-emit',
  'io-broadcast',
  'io-ack',
  'io-join',
  'io-leave',
  'io-sockets-join',
  'io-sockets-leave',
  'io-disconnect-sockets',
  'io-fetch',
  'io-socket-disconnect',
]);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ONE_LINE = /^[^\r\n\0]*$/;
const NSP = /^\/[^\0-\x1f\x7f]{0,63}$/;

class Refused extends Error {
  readonly id: HostErrorId;
  constructor(id: HostErrorId, message: string) {
    super(message);
    this.id = id;
  }
}

function fail(id: HostErrorId, message: string): never {
  throw new Refused(id, message);
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 2 ** 31;
}

function id(o: Record<string, unknown>, key: string, what: string): number {
  const v = o[key];
  if (!isId(v)) fail('HOST_ERR_BAD_FIELD', `«\u00a0${key}\u00a0» doit être ${what} (entier positif).`);
  return v;
}

function bool(o: Record<string, unknown>, key: string): boolean | undefined {
  const v = o[key];
  if (v !== undefined && typeof v !== 'boolean') fail('HOST_ERR_BAD_FIELD', `«\u00a0${key}\u00a0» doit être un booléen.`);
  return v as boolean | undefined;
}

function int(o: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail('HOST_ERR_BAD_FIELD', `«\u00a0${key}\u00a0» doit être un entier de ${min} à ${max}.`);
  return v;
}

function nspName(v: unknown): string {
  if (typeof v !== 'string' || !NSP.test(v))
    fail('HOST_ERR_BAD_FIELD', `Un espace de noms commence par «\u00a0/\u00a0» et compte au plus ${MAX_NSP_NAME}\u00a0caractères.`);
  return v;
}

function eventName(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_EVENT_NAME)
    fail('HOST_ERR_BAD_FIELD', `Un nom d’évènement est une chaîne de 1 à ${MAX_EVENT_NAME}\u00a0caractères.`);
  if (RESERVED_EVENTS.has(v)) fail('HOST_ERR_RESERVED_EVENT', `«\u00a0${v}\u00a0» est un nom d’évènement réservé.`);
  return v;
}

/** A list of room names; undefined when absent and `optional`. */
function rooms(o: Record<string, unknown>, key: string, optional: boolean): string[] | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (!Array.isArray(v) || v.length > MAX_ROOMS_PER_COMMAND)
    fail('HOST_ERR_BAD_FIELD', `«\u00a0${key}\u00a0» doit être une liste d’au plus ${MAX_ROOMS_PER_COMMAND}\u00a0salons.`);
  for (const room of v) {
    if (typeof room !== 'string' || room.length > MAX_ROOM_NAME)
      fail('HOST_ERR_BAD_FIELD', `Un nom de salon est une chaîne d’au plus ${MAX_ROOM_NAME}\u00a0caractères.`);
  }
  return v as string[];
}

function target(o: Record<string, unknown>): IoTarget {
  const out: IoTarget = { nsp: nspName(o.nsp) };
  const to = rooms(o, 'to', true);
  const except = rooms(o, 'except', true);
  if (to) out.to = to;
  if (except) out.except = except;
  return out;
}

/**
 * Decodes event arguments: `{ _b64 }` placeholders become Buffers. Throws a refusal past the
 * depth or size limits (the arguments' JSON length, binary counted in bytes, ≤ maxPayload).
 */
export function decodeArgs(value: unknown, maxPayload: number): unknown[] {
  if (!Array.isArray(value)) fail('HOST_ERR_BAD_FIELD', '« args » doit être une liste.');
  let base64Chars = 0;
  let binaryBytes = 0;
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (depth > MAX_ARGS_DEPTH) fail('HOST_ERR_TOO_BIG', `Arguments trop imbriqués\u00a0: au plus ${MAX_ARGS_DEPTH}\u00a0niveaux.`);
    if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '_b64' && typeof o._b64 === 'string') {
      const text = o._b64;
      if (!BASE64.test(text) || text.length % 4 !== 0)
        fail('HOST_ERR_BAD_FIELD', 'Donnée binaire («\u00a0_b64\u00a0») qui n’est pas du base64 valide.');
      const bytes = Buffer.from(text, 'base64');
      base64Chars += text.length;
      binaryBytes += bytes.length;
      return bytes;
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = walk(o[k], depth + 1);
    return out;
  };
  const args = value.map((item) => walk(item, 1));
  if (JSON.stringify(value).length - base64Chars + binaryBytes > maxPayload)
    fail('HOST_ERR_TOO_BIG', `Message Socket.IO trop grand\u00a0: au plus ${maxPayload}\u00a0octets.`);
  return args;
}

function stringList(v: unknown, what: string): string | string[] | undefined {
  if (v === undefined) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length > 32 || !list.every((x) => typeof x === 'string' && x.length <= 256 && ONE_LINE.test(x))) {
    fail('HOST_ERR_BAD_FIELD', `cors.${what} doit être une chaîne ou une liste d’au plus 32 chaînes d’une ligne.`);
  }
  return v as string | string[];
}

function corsOf(v: unknown): IoCors | undefined {
  if (v === undefined) return undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v)) fail('HOST_ERR_BAD_FIELD', '« cors » doit être un objet.');
  const o = v as Record<string, unknown>;
  const out: IoCors = {};
  if (o.origin !== undefined) out.origin = typeof o.origin === 'boolean' ? o.origin : stringList(o.origin, 'origin');
  const methods = stringList(o.methods, 'methods');
  const allowedHeaders = stringList(o.allowedHeaders, 'allowedHeaders');
  const exposedHeaders = stringList(o.exposedHeaders, 'exposedHeaders');
  const credentials = bool(o, 'credentials');
  const maxAge = int(o, 'maxAge', 0, 86_400);
  if (methods !== undefined) out.methods = methods;
  if (allowedHeaders !== undefined) out.allowedHeaders = allowedHeaders;
  if (exposedHeaders !== undefined) out.exposedHeaders = exposedHeaders;
  if (credentials !== undefined) out.credentials = credentials;
  if (maxAge !== undefined) out.maxAge = maxAge;
  return out;
}

function optionsOf(v: unknown): IoOptions {
  if (v === undefined) return {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) fail('HOST_ERR_BAD_FIELD', '« options » doit être un objet.');
  const o = v as Record<string, unknown>;
  const out: IoOptions = {};
  const cors = corsOf(o.cors);
  if (cors) out.cors = cors;
  // Any positive integer: the relay brings them within the sandbox's bounds (IO_OPTION_BOUNDS).
  for (const key of ['pingInterval', 'pingTimeout', 'connectTimeout', 'maxHttpBufferSize'] as const) {
    const n = int(o, key, 1, 2 ** 31 - 1);
    if (n !== undefined) out[key] = n;
  }
  if (o.transports !== undefined) {
    const list = o.transports;
    if (!Array.isArray(list) || list.length === 0 || list.length > 2 || !list.every((x) => x === 'polling' || x === 'websocket')) {
      fail('HOST_ERR_BAD_FIELD', '« transports » doit lister «\u00a0polling\u00a0» et/ou «\u00a0websocket\u00a0».');
    }
    out.transports = [...new Set(list as ('polling' | 'websocket')[])];
  }
  if (o.connectionStateRecovery !== undefined) {
    const r = o.connectionStateRecovery;
    if (!r || typeof r !== 'object' || Array.isArray(r)) fail('HOST_ERR_BAD_FIELD', '« connectionStateRecovery » doit être un objet.');
    const c = r as Record<string, unknown>;
    out.connectionStateRecovery = {
      maxDisconnectionDuration: int(c, 'maxDisconnectionDuration', 0, 2 ** 31 - 1) ?? 120_000,
      skipMiddlewares: bool(c, 'skipMiddlewares') ?? true,
    };
  }
  const allowUpgrades = bool(o, 'allowUpgrades');
  if (allowUpgrades !== undefined) out.allowUpgrades = allowUpgrades;
  return out;
}

function emitFields(o: Record<string, unknown>, limits: IoCommandLimits) {
  const event = eventName(o.event);
  const args = decodeArgs(o.args, limits.maxPayload);
  const fields: { event: string; args: unknown[]; ack?: number; timeout?: number; volatile?: boolean } = { event, args: [] };
  if (o.ack !== undefined) fields.ack = id(o, 'ack', 'un identifiant d’accusé de réception');
  const timeout = int(o, 'timeout', 0, MAX_TIMEOUT_MS);
  if (timeout !== undefined) fields.timeout = timeout;
  if (bool(o, 'volatile')) fields.volatile = true;
  return { fields, args };
}

/** Parses one host message whose `t` starts with `io-` (already JSON-parsed). */
export function parseIoObject(o: Record<string, unknown>, limits: IoCommandLimits): IoParsed {
  const t = o.t;
  if (typeof t !== 'string' || !COMMANDS.has(t)) {
    return {
      ok: false,
      refusal: { id: 'HOST_ERR_UNKNOWN_COMMAND', message: `Commande inconnue «\u00a0${String(t).slice(0, 40)}\u00a0».` },
    };
  }
  const s = isId(o.s) ? o.s : undefined;
  try {
    switch (t) {
      case 'io-attach': {
        const nsps = o.nsps === undefined ? [] : o.nsps;
        if (!Array.isArray(nsps) || nsps.length > 64) fail('HOST_ERR_BAD_FIELD', '« nsps » doit être une liste d’espaces de noms.');
        return { ok: true, command: { t, nsps: nsps.map(nspName), options: optionsOf(o.options) } };
      }
      case 'io-nsp':
        return { ok: true, command: { t, nsp: nspName(o.nsp) } };
      case 'io-close':
        return { ok: true, command: { t } };
      case 'io-next': {
        const sock = id(o, 's', 'un identifiant de socket');
        const error = o.error;
        if (error === undefined) return { ok: true, command: { t, s: sock } };
        if (!error || typeof error !== 'object' || Array.isArray(error))
          fail('HOST_ERR_BAD_FIELD', '« error » doit être un objet { message, data }.');
        const e = error as Record<string, unknown>;
        if (e.message !== undefined && (typeof e.message !== 'string' || e.message.length > 1024))
          fail('HOST_ERR_BAD_FIELD', '« error.message » doit être une chaîne d’au plus 1024 caractères.');
        if (e.data !== undefined && JSON.stringify(e.data).length > limits.maxPayload)
          fail('HOST_ERR_TOO_BIG', `Données d’erreur trop grandes\u00a0: au plus ${limits.maxPayload}\u00a0octets.`);
        const out: { message?: string; data?: unknown } = {};
        if (e.message !== undefined) out.message = e.message as string;
        if (e.data !== undefined) out.data = e.data;
        return { ok: true, command: { t, s: sock, error: out } };
      }
      case 'io-emit': {
        const sock = id(o, 's', 'un identifiant de socket');
        const { fields, args } = emitFields(o, limits);
        return { ok: true, command: { t, s: sock, ...fields }, args };
      }
      case 'io-broadcast': {
        const tgt = target(o);
        const { fields, args } = emitFields(o, limits);
        const command: HostToSandboxIo = { t, ...tgt, ...fields };
        if (o.from !== undefined) command.from = id(o, 'from', 'un identifiant de socket');
        return { ok: true, command, args };
      }
      case 'io-ack': {
        const sock = id(o, 's', 'un identifiant de socket');
        const ack = id(o, 'ack', 'un identifiant d’accusé de réception');
        const args = decodeArgs(o.args, limits.maxPayload);
        return { ok: true, command: { t, s: sock, ack, args: [] }, args };
      }
      case 'io-join':
      case 'io-leave':
        return { ok: true, command: { t, s: id(o, 's', 'un identifiant de socket'), rooms: rooms(o, 'rooms', false) as string[] } };
      case 'io-sockets-join':
      case 'io-sockets-leave':
        return { ok: true, command: { t, ...target(o), rooms: rooms(o, 'rooms', false) as string[] } };
      case 'io-disconnect-sockets':
        return { ok: true, command: { t, ...target(o), close: bool(o, 'close') ?? false } };
      case 'io-fetch':
        return { ok: true, command: { t, ...target(o), r: id(o, 'r', 'un identifiant de requête') } };
      default:
        return {
          ok: true,
          command: { t: 'io-socket-disconnect', s: id(o, 's', 'un identifiant de socket'), close: bool(o, 'close') ?? false },
        };
    }
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    const refusal: IoRefusal = { id: err.id, message: err.message };
    if (s !== undefined) refusal.s = s;
    return { ok: false, refusal };
  }
}

/** True for a Socket.IO command (after validation). */
export function isIoCommand(cmd: HostToSandbox): cmd is HostToSandboxIo {
  return cmd.t.startsWith('io-');
}

/** True for a parsed host message that is a Socket.IO command (its `t` starts with `io-`). */
export function isIoObject(o: unknown): o is Record<string, unknown> {
  return !!o && typeof o === 'object' && typeof (o as { t?: unknown }).t === 'string' && (o as { t: string }).t.startsWith('io-');
}

/** Parses one host message text that is a Socket.IO command. */
export function parseIoCommand(text: string, limits: IoCommandLimits): IoParsed {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return { ok: false, refusal: { id: 'HOST_ERR_BAD_JSON', message: 'Commande illisible (JSON invalide).' } };
  }
  if (!isIoObject(o)) return { ok: false, refusal: { id: 'HOST_ERR_UNKNOWN_COMMAND', message: 'Commande Socket.IO attendue.' } };
  return parseIoObject(o, limits);
}

/**
 * Parses any host message: Socket.IO commands here, the others by commands.ts. The façade writes
 * `t` first, so the text alone routes it; a command written otherwise is parsed twice.
 */
export function parseAnyHostCommand(text: string, limits: CommandLimits & IoCommandLimits): Parsed | IoParsed {
  if (text.startsWith('{"t":"io-')) return parseIoCommand(text, limits);
  const parsed = parseHostCommand(text, limits);
  if (!parsed.ok && parsed.refusal.id === 'HOST_ERR_UNKNOWN_COMMAND' && text.includes('"io-')) return parseIoCommand(text, limits);
  return parsed;
}
