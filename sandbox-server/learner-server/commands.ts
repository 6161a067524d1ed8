// Validation of what a host sends (protocol/host.ts): every field checked, every size bounded,
// before anything touches a real socket. Pure: a text in, a command or a refusal out.
import { RAW_WRITE_MAX } from '#protocol/host';
import type { HostAccept, HostErrorId, HostToSandbox } from '#protocol/host';

export interface CommandLimits {
  /** Largest message payload a host may send, in bytes (the sandbox's maxPayload). */
  maxPayload: number;
}

export interface Refusal {
  id: HostErrorId;
  message: string;
  c?: number;
}

export type Parsed = { ok: true; command: HostToSandbox; payload?: Buffer } | { ok: false; refusal: Refusal };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Close codes an endpoint may send (RFC 6455 §7.4.1–7.4.2: 1000, 1001–1003, 1007–1014, 3000–4999). */
export function isSendableCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    (code === 1000 || (code >= 1001 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
  );
}

const refuse = (id: HostErrorId, message: string, c?: number): Parsed => ({
  ok: false,
  refusal: c === undefined ? { id, message } : { id, message, c },
});

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 2 ** 31;
}

/** The payload bytes of a `send`/`ping`/`pong`, or a refusal. */
function payloadOf(o: Record<string, unknown>, max: number, c: number): Buffer | Parsed {
  if (typeof o.data !== 'string') return refuse('HOST_ERR_BAD_FIELD', '« data » doit être une chaîne.', c);
  // Checked before decoding: a base64 text is 4/3 of its bytes, UTF-8 at most 3 bytes per unit.
  if (o.data.length > (o.b64 ? Math.ceil(max / 3) * 4 : max))
    return refuse('HOST_ERR_TOO_BIG', `Charge utile trop grande\u00a0: au plus ${max}\u00a0octets.`, c);
  if (o.b64 !== undefined && typeof o.b64 !== 'boolean') return refuse('HOST_ERR_BAD_FIELD', '« b64 » doit être un booléen.', c);
  if (o.b64 && (!BASE64.test(o.data) || o.data.length % 4 !== 0))
    return refuse('HOST_ERR_BAD_FIELD', '« data » n’est pas du base64 valide.', c);
  const bytes = o.b64 ? Buffer.from(o.data, 'base64') : Buffer.from(o.data, 'utf8');
  if (bytes.length > max) return refuse('HOST_ERR_TOO_BIG', `Charge utile trop grande\u00a0: au plus ${max}\u00a0octets.`, c);
  return bytes;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const FORBIDDEN_HEADER = /^(content-length|connection|transfer-encoding)$/i;

/** Extra response headers: undefined when absent, null when invalid (names are HTTP tokens, values one line). */
function headersField(v: unknown): Record<string, string> | undefined | null {
  if (v === undefined) return undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > 20) return null;
  const out: Record<string, string> = {};
  for (const [k, value] of entries) {
    if (!TOKEN.test(k) || FORBIDDEN_HEADER.test(k)) return null;
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string' || text.length > 1024 || /[\r\n\0]/.test(text)) return null;
    out[k] = text;
  }
  return out;
}

/** Parses one host message (a WebSocket text message). */
export function parseHostCommand(text: string, limits: CommandLimits): Parsed {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return refuse('HOST_ERR_BAD_JSON', 'Commande illisible (JSON invalide).');
  }
  return parseCommandObject(o, limits);
}

/** Parses one host command already read from JSON (alone or from a batch). */
export function parseCommandObject(o: unknown, limits: CommandLimits): Parsed {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return refuse('HOST_ERR_BAD_JSON', 'Une commande est un objet JSON.');
  const r = o as Record<string, unknown>;
  const t = r.t;
  if (t === 'auth') {
    if (typeof r.secret !== 'string' || r.secret.length > 256) return refuse('HOST_ERR_BAD_FIELD', '« secret » doit être une chaîne.');
    return { ok: true, command: { t, secret: r.secret } };
  }
  if (
    t !== 'accept' &&
    t !== 'refuse' &&
    t !== 'destroy' &&
    t !== 'send' &&
    t !== 'ping' &&
    t !== 'pong' &&
    t !== 'close' &&
    t !== 'terminate' &&
    t !== 'write' &&
    t !== 'buffered'
  ) {
    return refuse('HOST_ERR_UNKNOWN_COMMAND', `Commande inconnue «\u00a0${String(t).slice(0, 40)}\u00a0».`);
  }
  if (!isId(r.c)) return refuse('HOST_ERR_BAD_FIELD', '« c » doit être un identifiant de connexion (entier positif).');
  const c = r.c;
  switch (t) {
    case 'accept': {
      if (r.protocol !== undefined && (typeof r.protocol !== 'string' || r.protocol.length > 256))
        return refuse('HOST_ERR_BAD_FIELD', '« protocol » doit être une chaîne.', c);
      const max = r.maxPayload;
      if (max !== undefined && (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 0))
        return refuse('HOST_ERR_BAD_FIELD', '« maxPayload » doit être un entier positif ou nul (octets).', c);
      const command: HostAccept = { t, c };
      if (r.protocol !== undefined) command.protocol = r.protocol as string;
      if (max) command.maxPayload = max;
      return { ok: true, command };
    }
    case 'refuse': {
      const status = r.status;
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
        return refuse('HOST_ERR_BAD_FIELD', '« status » doit être un code HTTP de 400 à 599.', c);
      if (r.message !== undefined && (typeof r.message !== 'string' || r.message.length > 1024))
        return refuse('HOST_ERR_BAD_FIELD', '« message » doit être une chaîne d’au plus 1024 caractères.', c);
      const headers = headersField(r.headers);
      if (headers === null)
        return refuse(
          'HOST_ERR_BAD_FIELD',
          '« headers » doit associer des noms d’en-têtes valides à des valeurs d’une ligne (au plus 20).',
          c,
        );
      return { ok: true, command: { t, c, status, message: r.message as string | undefined, headers } };
    }
    case 'destroy':
      return { ok: true, command: { t, c } };
    case 'buffered': {
      const q = r.q;
      if (typeof q !== 'number' || !Number.isSafeInteger(q) || q < 0)
        return refuse('HOST_ERR_BAD_FIELD', '« q » doit être un entier positif ou nul (octets).', c);
      return { ok: true, command: { t, c, q } };
    }
    case 'write': {
      const payload = payloadOf(r, RAW_WRITE_MAX, c);
      if (!Buffer.isBuffer(payload)) return payload;
      return { ok: true, command: { t, c, data: '' }, payload };
    }
    case 'send': {
      if (typeof r.binary !== 'boolean') return refuse('HOST_ERR_BAD_FIELD', '« binary » doit être un booléen.', c);
      if (r.fin !== undefined && typeof r.fin !== 'boolean') return refuse('HOST_ERR_BAD_FIELD', '« fin » doit être un booléen.', c);
      const payload = payloadOf(r, limits.maxPayload, c);
      if (!Buffer.isBuffer(payload)) return payload;
      return { ok: true, command: { t, c, binary: r.binary, fin: r.fin !== false, data: '' }, payload };
    }
    case 'ping':
    case 'pong': {
      const payload = payloadOf(r, 125, c);
      if (!Buffer.isBuffer(payload)) return payload;
      return { ok: true, command: { t, c, data: '' }, payload };
    }
    case 'close': {
      if (r.code !== undefined && (typeof r.code !== 'number' || !isSendableCloseCode(r.code))) {
        return refuse(
          'HOST_ERR_BAD_CLOSE_CODE',
          `Code de fermeture invalide «\u00a0${String(r.code).slice(0, 20)}\u00a0»\u00a0: 1000 à 1003, 1007 à 1014, ou 3000 à 4999.`,
          c,
        );
      }
      if (r.reason !== undefined && typeof r.reason !== 'string')
        return refuse('HOST_ERR_BAD_FIELD', '« reason » doit être une chaîne.', c);
      if (r.reason && r.code === undefined) return refuse('HOST_ERR_BAD_CLOSE_CODE', 'Une raison de fermeture demande un code.', c);
      if (r.reason !== undefined && Buffer.byteLength(r.reason as string) > 123)
        return refuse('HOST_ERR_TOO_BIG', 'Raison de fermeture trop longue\u00a0: au plus 123\u00a0octets.', c);
      return { ok: true, command: { t, c, code: r.code as number | undefined, reason: r.reason as string | undefined } };
    }
    default:
      return { ok: true, command: { t: 'terminate', c } };
  }
}
