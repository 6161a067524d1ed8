// Small shared pieces of the wire decoders: item types without the per-session fields, and byte helpers.
import { isUtf8 } from 'node:buffer';
import { VIOLATION_CODES } from '#protocol';
import type { InfoEvent, ViolationEvent, ViolationId } from '#protocol';

/** A protocol violation as a decoder reports it (the connection decoder adds `from`). */
export type ViolationItem = Omit<ViolationEvent, 'seq' | 't' | 'conn' | 'from'>;

/**
 * Why a decoder leaves a message out (not a violation), by identifier: the decoders hold no
 * learner-facing text, so the tap words the note for the learner from it (tap/notes.ts).
 */
export type WireNote =
  /** A compressed message over INFLATE_INPUT_LIMIT compressed bytes: not inflated. */
  | 'INFLATE_INPUT_LIMIT'
  /** A compressed message inflating beyond INFLATE_OUTPUT_LIMIT bytes: not inflated. */
  | 'INFLATE_OUTPUT_LIMIT'
  /** An earlier message was not inflated, and the sender keeps its context: not inflated either. */
  | 'INFLATE_HISTORY_LOST';

/** A note that is not a violation; `message` is an English detail the tap replaces. */
export type InfoItem = Omit<InfoEvent, 'seq' | 't' | 'conn'> & { note: WireNote };

/** The violation `id`, with its close code (VIOLATION_CODES) and an English technical detail. */
export function violation(id: ViolationId, detail: string): ViolationItem {
  return { type: 'violation', id, code: VIOLATION_CODES[id], message: detail };
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
