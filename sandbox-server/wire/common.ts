// Small shared pieces of the wire decoders: item types without the per-session fields, and byte helpers.
import { isUtf8 } from 'node:buffer';
import type { InfoEvent, ViolationEvent } from '#protocol';

/** A protocol violation as a decoder reports it (the connection decoder adds `from`). */
export type ViolationItem = Omit<ViolationEvent, 'seq' | 't' | 'conn' | 'from'>;
/** A note that is not a violation (e.g. a message too large to inflate). */
export type InfoItem = Omit<InfoEvent, 'seq' | 't' | 'conn'>;

export function violation(code: number, message: string): ViolationItem {
  return { type: 'violation', code, message };
}

export function hex(bytes: Uint8Array): string {
  if (bytes.length === 0) return '';
  if (bytes instanceof Buffer) return bytes.toString('hex');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Joins pieces into one array (no copy when there is a single piece). */
export function concat(pieces: Uint8Array[], total: number): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Shared decoders: a non-streaming decode keeps no state between calls, so one instance serves
// every call (creating a TextDecoder per call was a large part of the decoding cost).
const lossy = new TextDecoder();
const lossyStream = new TextDecoder();

/**
 * Lossy UTF-8 text of a captured prefix. Stream mode keeps an incomplete trailing sequence back
 * instead of printing U+FFFD where the capture cut a character in two.
 */
export function utf8Prefix(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n === 0) return '';
  // Ending with an ASCII byte, nothing can be held back: stream mode would give the same text.
  if (bytes[n - 1] < 0x80) return lossy.decode(bytes);
  const text = lossyStream.decode(bytes, { stream: true });
  lossyStream.decode(); // ends the stream: forgets the held-back bytes for the next call
  return text;
}

/** True when `bytes` is entirely valid UTF-8. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return isUtf8(bytes);
}
