// Behind a reverse proxy: which peers are trusted to say who the client is (TRUST_PROXY), and what
// they say (X-Forwarded-For/-Proto/-Host, or RFC 7239 Forwarded). Without TRUST_PROXY, or when the
// direct peer is not trusted, those headers are ignored: anyone can write them.
//
// Trust is a list of addresses and CIDR blocks, not a hop count. A hop count trusts whoever
// connects directly: if the sandbox's port is reachable other than through the proxy (a private
// network, a container bridge), a client could forge its address. A list trusts only the proxies
// named. The client is the first address, from the right, that is not a trusted proxy: the part
// left of it was written by the client or proxies we do not know, and is never read.
//
// One header family at a time (TRUST_PROXY_HEADER): a proxy rewrites the headers it is told to and
// passes the others through, so reading the other family would read what the client wrote.
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { ipOf } from './limits.ts';

export type ForwardedHeader = 'x-forwarded' | 'forwarded';

export interface TrustProxy {
  readonly list: BlockList;
  readonly header: ForwardedHeader;
  /** The entries as given (for the start log). */
  readonly entries: readonly string[];
}

/** What the client's side of the nearest trusted proxy was. */
export interface ClientView {
  /** Client address (IPv4-mapped IPv6 shown as IPv4), or a bounded token (RFC 7239 obfuscated node, "unknown"). */
  ip: string;
  /** "http" or "https" as the client used, when a trusted proxy said so. */
  proto?: 'http' | 'https';
  /** Host the client asked for, when a trusted proxy said so (same characters as a Host header). */
  host?: string;
}

const HOST_PATTERN = /^[A-Za-z0-9.\-:[\]]{1,255}$/;
/** RFC 7239 §6.3 obfuscated identifiers ("_hidden"), and "unknown" (§6.2). */
const TOKEN_PATTERN = /^(?:_[A-Za-z0-9._-]{1,63}|unknown)$/;
/** At most this many hops are read from the right of a forwarding header. */
const MAX_HOPS = 32;

/**
 * Parses TRUST_PROXY: comma-separated IP addresses, CIDR blocks (10.0.0.0/8, fd00::/8) and the
 * word `loopback` (127.0.0.0/8 and ::1). Returns an Error naming the bad entry; null for "".
 */
export function parseTrustProxy(value: string | undefined, header: string | undefined = 'x-forwarded'): TrustProxy | null | Error {
  if (value === undefined || value.trim() === '') return null;
  const h = (header || 'x-forwarded').trim().toLowerCase();
  if (h !== 'x-forwarded' && h !== 'forwarded')
    return new Error(`TRUST_PROXY_HEADER\u00a0: «\u00a0${header}\u00a0» n’est ni x-forwarded ni forwarded`);
  const list = new BlockList();
  const entries: string[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    entries.push(entry);
    if (entry === 'loopback') {
      list.addSubnet('127.0.0.0', 8, 'ipv4');
      list.addAddress('::1', 'ipv6');
      continue;
    }
    const slash = entry.indexOf('/');
    const address = slash < 0 ? entry : entry.slice(0, slash);
    const family = isIP(address);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const bits = family === 4 ? 32 : 128;
    const prefixText = slash < 0 ? String(bits) : entry.slice(slash + 1);
    const prefix = Number(prefixText);
    if (family === 0 || !/^\d{1,3}$/.test(prefixText) || prefix > bits) {
      return new Error(`TRUST_PROXY\u00a0: «\u00a0${entry}\u00a0» n’est ni une adresse IP, ni un bloc CIDR, ni «\u00a0loopback\u00a0»`);
    }
    if (prefix === bits) list.addAddress(address, type);
    else list.addSubnet(address, prefix, type);
  }
  if (entries.length === 0) return null;
  return { list, header: h, entries };
}

/** True when `address` (as a socket reports it) is one of the trusted proxies. */
export function isTrusted(trust: TrustProxy, address: string | undefined): boolean {
  if (!address) return false;
  const ip = ipOf(address);
  const family = isIP(ip);
  return family !== 0 && trust.list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** An address from a forwarding header: bare, bracketed IPv6, with or without a port; else a token or null. */
export function nodeAddress(raw: string): string | null {
  let s = raw.trim();
  if (s.length > 100) return null;
  if (s.startsWith('"') && s.endsWith('"') && s.length >= 2) s = s.slice(1, -1);
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return null;
    const rest = s.slice(close + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest) && !/^:_[A-Za-z0-9._-]{1,63}$/.test(rest)) return null;
    s = s.slice(1, close);
    return isIP(s) === 6 ? ipOf(s.toLowerCase()) : null;
  }
  if (isIP(s) === 6) return ipOf(s.toLowerCase());
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const rest = s.slice(colon + 1);
    if (!/^\d{1,5}$/.test(rest) && !/^_[A-Za-z0-9._-]{1,63}$/.test(rest)) return null;
    s = s.slice(0, colon);
  }
  if (isIP(s) === 4) return s;
  return TOKEN_PATTERN.test(s) ? s : null;
}

function trustedNode(trust: TrustProxy, node: string): boolean {
  const family = isIP(node);
  return family !== 0 && trust.list.check(node, family === 4 ? 'ipv4' : 'ipv6');
}

/** Splits on `sep` outside double-quoted strings (RFC 7239 values may be quoted-strings). */
function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** One RFC 7239 forwarded-element as a map of lower-case parameter names to unquoted values. */
export function parseForwardedElement(element: string): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const pair of splitOutsideQuotes(element, ';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim().toLowerCase();
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    if (!pairs.has(name)) pairs.set(name, value);
  }
  return pairs;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function lastHops(text: string, split: (s: string) => string[]): string[] {
  const hops = split(text);
  return hops.length > MAX_HOPS ? hops.slice(hops.length - MAX_HOPS) : hops;
}

function protoOf(value: string | undefined): 'http' | 'https' | undefined {
  const v = value?.trim().toLowerCase();
  return v === 'http' || v === 'https' ? v : undefined;
}

function hostOf(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v && HOST_PATTERN.test(v) ? v : undefined;
}

/**
 * The client as the trusted proxies describe it, from the request's headers; the direct peer must
 * already be trusted (see clientOf). The client is the rightmost hop that is not a trusted proxy
 * (or the leftmost hop when they all are); an unreadable hop ends the walk (the hop right of it is
 * then the client).
 */
export function forwardedView(trust: TrustProxy, headers: IncomingMessage['headers'], peer: string): ClientView {
  if (trust.header === 'forwarded') {
    const text = headerText(headers.forwarded);
    if (!text) return { ip: peer };
    const elements = lastHops(text, (s) => splitOutsideQuotes(s, ','));
    let chosen: Map<string, string> | null = null;
    let ip = peer;
    for (let i = elements.length - 1; i >= 0; i--) {
      const pairs = parseForwardedElement(elements[i]);
      const node = nodeAddress(pairs.get('for') ?? '');
      if (node === null) break;
      chosen = pairs;
      ip = node;
      if (!trustedNode(trust, node)) break;
    }
    if (!chosen) return { ip };
    return { ip, proto: protoOf(chosen.get('proto')), host: hostOf(chosen.get('host')) };
  }
  const text = headerText(headers['x-forwarded-for']);
  let ip = peer;
  let index = -1;
  let count = 0;
  if (text) {
    const hops = lastHops(text, (s) => s.split(','));
    count = hops.length;
    for (let i = hops.length - 1; i >= 0; i--) {
      const node = nodeAddress(hops[i]);
      if (node === null) break;
      ip = node;
      index = i;
      if (!trustedNode(trust, node)) break;
    }
  }
  // Proxies usually set X-Forwarded-Proto/-Host to one value. When they append, the entry of the
  // client's hop is the one at the same place as its address; otherwise the last one, written by
  // the nearest proxy.
  const pick = (value: string | string[] | undefined): string | undefined => {
    const t = headerText(value);
    if (t === undefined) return undefined;
    const list = lastHops(t, (s) => s.split(','));
    return index >= 0 && list.length === count ? list[index] : list[list.length - 1];
  };
  return { ip, proto: protoOf(pick(headers['x-forwarded-proto'])), host: hostOf(pick(headers['x-forwarded-host'])) };
}

const VIEW = Symbol('clientView');
type Viewed = IncomingMessage & { [VIEW]?: ClientView };

/**
 * The client of a request: its socket's address, or, when that is a trusted proxy, the client the
 * proxy names. Computed once per request (kept on it).
 */
export function clientOf(trust: TrustProxy | null, req: IncomingMessage): ClientView {
  if (!trust) return { ip: ipOf(req.socket.remoteAddress) };
  const viewed = req as Viewed;
  const known = viewed[VIEW];
  if (known) return known;
  const peer = ipOf(req.socket.remoteAddress);
  const view = isTrusted(trust, peer) ? forwardedView(trust, req.headers, peer) : { ip: peer };
  viewed[VIEW] = view;
  return view;
}
