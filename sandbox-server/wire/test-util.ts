// Helpers shared by the wire tests (not used by the decoders).
import fc from 'fast-check';
import * as ws from 'ws';

export const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
export const toHex = (b: Uint8Array | string): string => Buffer.from(b).toString('hex');

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
