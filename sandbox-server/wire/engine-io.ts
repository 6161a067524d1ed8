// Engine.IO v4 packets (engine.io-protocol v4). Stateless and pure.
// A packet is one type digit and its data: "4hello" is a message, "2probe" a ping. Over WebSocket a
// text message is one packet and a binary message is a binary "message" packet with no type byte.
// A polling body holds packets separated by the record separator \x1e; binary ones there are
// "b" + base64.
import { PAYLOAD_CAPTURE_LIMIT } from '#protocol';
import type { EioEvent } from '#protocol';
import { hex, violation } from './common.ts';
import type { ViolationItem } from './common.ts';

export type EioItem = Omit<EioEvent, 'seq' | 't' | 'conn' | 'from' | 'transport'>;
export type EioResult = EioItem | ViolationItem;

export const EIO_PACKET_TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'] as const;
/** Separates packets in a polling payload. */
export const RECORD_SEPARATOR = '\x1e';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * One text-encoded packet (a WebSocket text message, or one record of a polling payload).
 * `truncated`: the text was cut by the capture limit, so an open packet's JSON is not parsed.
 */
export function decodeEioPacket(text: string, opts: { truncated?: boolean; captureLimit?: number } = {}): EioResult {
  if (text.length === 0) return violation('EIO_ERR_EMPTY_PACKET', 'empty Engine.IO packet');
  const c = text[0];
  if (c === 'b') {
    const b64 = text.slice(1);
    if (!BASE64.test(b64) || b64.length % 4 === 1)
      return violation('EIO_ERR_INVALID_BASE64', 'Engine.IO binary packet is not valid base64');
    return decodeEioBinary(Buffer.from(b64, 'base64'), opts.captureLimit);
  }
  const type = c.charCodeAt(0) - 0x30;
  if (type < 0 || type >= EIO_PACKET_TYPES.length) {
    return violation('EIO_ERR_UNKNOWN_PACKET_TYPE', `unknown Engine.IO packet type "${c}"`);
  }
  const item: EioItem = { type: 'eio', packet: EIO_PACKET_TYPES[type] };
  if (text.length > 1) item.data = text.slice(1);
  if (type === 0) {
    if (opts.truncated) return item;
    try {
      const open = JSON.parse(item.data ?? '') as { sid?: unknown };
      if (typeof open?.sid === 'string') item.sid = open.sid;
    } catch {
      return violation('EIO_ERR_OPEN_NOT_JSON', 'Engine.IO open packet data is not JSON');
    }
  }
  return item;
}

/** A binary message packet (WebSocket binary message, or decoded base64): data as hex. */
export function decodeEioBinary(bytes: Uint8Array, captureLimit = PAYLOAD_CAPTURE_LIMIT): EioItem {
  return eioBinaryFromHex(hex(bytes.subarray(0, Math.min(bytes.length, captureLimit))));
}

/** A binary packet whose hex the frame decoder already captured (cut at the capture limit). */
export function eioBinaryFromHex(dataHex: string): EioItem {
  return { type: 'eio', packet: 'message', binary: true, data: dataHex };
}

/**
 * A polling payload. `truncated`: the body was cut by the capture limit, so the last record may be
 * incomplete: it is dropped rather than reported as malformed.
 */
export function decodeEioPayload(text: string, opts: { truncated?: boolean; captureLimit?: number } = {}): EioResult[] {
  const records = text.split(RECORD_SEPARATOR);
  if (opts.truncated) records.pop();
  return records.map((r) => decodeEioPacket(r, { captureLimit: opts.captureLimit }));
}
