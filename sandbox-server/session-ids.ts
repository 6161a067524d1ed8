// Session ids that any instance of a cluster can mint and recognise without shared state.
//
//   id = <route key: 8 chars> <base64url(random: 18 bytes ‖ tag: 12 bytes): 40 chars>   (48 chars)
//
// - The route key is what the load balancer hashes (deploy/haproxy.cfg): behind the cluster's
//   HAProxy, POST /api/sessions carries a fresh key chosen by the proxy (X-Session-Route), and the
//   proxy sent that request to the instance its consistent hash gives for that key; the instance
//   puts the key in the id, so every later request naming the id hashes to the same instance.
//   Without the header (one instance, dev), the key is random. It is not secret.
// - The random part (144 bits from crypto.randomBytes) is the capability: knowing the id is what
//   grants access to the session.
// - The tag is HMAC-SHA-256 (RFC 2104) over a context string, the route key and the random part,
//   with the cluster's shared secret, truncated to its first 96 bits (RFC 2104 §5: truncated
//   outputs of at least 80 bits; 96 as in HMAC-SHA-1-96, RFC 2404). Only online forgery matters
//   here (a guess per request): 2^-96 per try. Several secrets may be configured for rotation:
//   the first signs, every one verifies.
//
// A bad tag is refused before the session table is consulted and before anything is allocated
// for the request, with the same 404 as an unknown session (no oracle); the comparison takes the
// same time wherever the tags differ (timingSafeEqual), and as long for every secret.
import { createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const ROUTE_KEY_CHARS = 8;
const RANDOM_BYTES = 18;
const TAG_BYTES = 12;
/** 8 + base64url of 30 bytes (40 characters, no padding: 30 is a multiple of 3, so one spelling per id). */
export const SESSION_ID_CHARS = ROUTE_KEY_CHARS + ((RANDOM_BYTES + TAG_BYTES) / 3) * 4;
const ID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${SESSION_ID_CHARS}}$`);
const ROUTE_KEY_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${ROUTE_KEY_CHARS}}$`);
/** Domain separation: this secret's tags mean "a session id of Atelier WebSocket, format 1". */
const CONTEXT = 'atelier-websocket session id v1\0';
/** Shortest secret accepted (bytes of its text): 32 characters of base64 carry 192 bits. */
export const MIN_SECRET_CHARS = 32;
/** At most this many secrets (each one costs an HMAC per unknown id). */
export const MAX_SECRETS = 4;

export interface SessionIds {
  /** A new id; `routeKey` (8 characters of base64url) when the load balancer chose one, else random. */
  mint(routeKey?: string): string;
  /** True when `id` has the shape of an id and a tag one of the secrets made. */
  verify(id: string): boolean;
}

/** A route key as the load balancer may send it (8 characters of base64url; hex is a subset). */
export function isRouteKey(value: unknown): value is string {
  return typeof value === 'string' && ROUTE_KEY_PATTERN.test(value);
}

function tagOf(key: KeyObject, routeKey: string, random: Buffer): Buffer {
  return createHmac('sha256', key).update(CONTEXT).update(routeKey).update(random).digest().subarray(0, TAG_BYTES);
}

/** Ids signed with the first of `secrets` and verified with any of them; none: a random secret for this process. */
export function createSessionIds(secrets: readonly string[] = []): SessionIds {
  const keys = (secrets.length ? secrets : [randomBytes(32).toString('base64')]).map((s) => createSecretKey(Buffer.from(s, 'utf8')));
  const signer = keys[0];
  return {
    mint(routeKey?: string): string {
      const route = isRouteKey(routeKey) ? routeKey : randomBytes(6).toString('base64url');
      const random = randomBytes(RANDOM_BYTES);
      return route + Buffer.concat([random, tagOf(signer, route, random)]).toString('base64url');
    },
    verify(id: string): boolean {
      if (id.length !== SESSION_ID_CHARS || !ID_PATTERN.test(id)) return false;
      const body = Buffer.from(id.slice(ROUTE_KEY_CHARS), 'base64url');
      const route = id.slice(0, ROUTE_KEY_CHARS);
      const random = body.subarray(0, RANDOM_BYTES);
      const tag = body.subarray(RANDOM_BYTES);
      let ok = false;
      // Every secret is tried (no early exit): the time does not tell which one matched.
      for (const key of keys) ok = timingSafeEqual(tag, tagOf(key, route, random)) || ok;
      return ok;
    },
  };
}

/**
 * The secrets from the environment: SESSION_SECRET (one or more, separated by commas; the first
 * signs) or SESSION_SECRET_FILE (one secret per line; blank lines and lines starting with # are
 * skipped; the first signs). Neither: [] (a random secret per process). Errors in French.
 */
export function secretsFromEnv(
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): string[] | Error {
  const inline = env.SESSION_SECRET;
  const file = env.SESSION_SECRET_FILE;
  if (inline && file) return new Error('SESSION_SECRET et SESSION_SECRET_FILE\u00a0: donnez l’un ou l’autre, pas les deux.');
  let secrets: string[];
  if (file) {
    let text: string;
    try {
      text = readFile(file);
    } catch (err) {
      return new Error(`SESSION_SECRET_FILE\u00a0: lecture impossible (${(err as NodeJS.ErrnoException).code ?? 'erreur'}).`);
    }
    secrets = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    if (secrets.length === 0) return new Error('SESSION_SECRET_FILE\u00a0: le fichier ne contient aucun secret.');
  } else if (inline) {
    secrets = inline.split(',').map((s) => s.trim());
  } else {
    return [];
  }
  if (secrets.length > MAX_SECRETS)
    return new Error(`Secrets de session\u00a0: au plus ${MAX_SECRETS} (le premier signe, les autres vérifient).`);
  const short = secrets.findIndex((s) => s.length < MIN_SECRET_CHARS);
  if (short >= 0) {
    // Never quoted: a secret does not go to the logs.
    return new Error(
      `Secrets de session\u00a0: le secret n°\u00a0${short + 1} a moins de ${MIN_SECRET_CHARS}\u00a0caractères (par exemple\u00a0: openssl rand -base64 32).`,
    );
  }
  return secrets;
}
