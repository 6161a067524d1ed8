// Helpers shared by the wire tests (not used by the decoders).
import fc from 'fast-check';
import * as ws from 'ws';

export const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
export const toHex = (b: Uint8Array | string): string => Buffer.from(b).toString('hex');

/** A WebSocket opening handshake (the key and accept of RFC 6455 §1.3), as the decoders see it. */
export const UPGRADE_REQ =
  'GET /s/x/echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
export const UPGRADE_RES =
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n';

/** Splits `data` at the given (sorted, deduplicated) offsets. */
export function split(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(data.subarray(at, p));
    at = p;
  }
  out.push(data.subarray(at));
  return out;
}

/** Feeds `data` in pieces cut at `cuts` and collects everything `push` returns. */
export function feed<T>(push: (chunk: Uint8Array) => T[], data: Uint8Array, cuts: number[] = []): T[] {
  return split(data, cuts).flatMap((piece) => push(piece));
}

export const cutsArb = fc.array(fc.nat(), { maxLength: 12 });

/** The longest prefix of `text`, whole code points only, whose UTF-8 encoding fits in `limit` bytes. */
export function textWithin(text: string, limit: number): string {
  let out = '';
  let size = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (size + n > limit) break;
    out += ch;
    size += n;
  }
  return out;
}

export function concatAll(list: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(list));
}

/** ws's own frame writer (`Sender.frame`), which @types/ws does not declare. */
interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}
const WsSender = (ws as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } }).Sender;
export const Sender = { frame: (data: Buffer, options: FrameOptions): Buffer[] => WsSender.frame(data, options) };
