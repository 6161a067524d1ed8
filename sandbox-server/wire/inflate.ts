// permessage-deflate (RFC 7692) inflation of whole messages, synchronously, one instance per direction.
// With context takeover the sender's LZ77 window spans messages, so the last 32 KiB of inflated
// output are kept and handed to the next inflation as a preset dictionary: that is exactly the
// history a persistent inflater would hold, because every message ends on a sync-flush boundary.
import { constants, inflateRawSync } from 'node:zlib';

/** Most compressed bytes kept for one message; above it the message is not inflated. */
export const INFLATE_INPUT_LIMIT = 1 << 20;
/** Most inflated bytes produced for one message (guards against compression bombs). */
export const INFLATE_OUTPUT_LIMIT = 16 << 20;
/** Largest LZ77 window (max_window_bits 15). */
const WINDOW_SIZE = 32 * 1024;
/** The empty stored block a sender strips from each message (RFC 7692 §7.2.1). */
const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

export type InflateResult =
  | { ok: true; data: Uint8Array }
  /** `code` is set when the data itself is bad (1007); otherwise a limit of ours was hit. */
  | { ok: false; code?: number; message: string };

export class MessageInflater {
  readonly contextTakeover: boolean;
  /** Last inflated bytes (context takeover only). */
  private window: Uint8Array = new Uint8Array(0);
  /** Set once a message could not be inflated: with context takeover every later one depends on it. */
  private lost = false;

  constructor(contextTakeover: boolean) {
    this.contextTakeover = contextTakeover;
  }

  /** Called for a compressed message we did not keep (too large): its history is gone. */
  skip(): void {
    if (this.contextTakeover) this.lost = true;
  }

  inflate(pieces: Uint8Array[]): InflateResult {
    if (this.lost) {
      return { ok: false, message: 'permessage-deflate: an earlier message was not inflated, so its context is lost' };
    }
    let data: Uint8Array;
    try {
      const input = Buffer.concat([...pieces, TAIL]);
      data = inflateRawSync(input, {
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: INFLATE_OUTPUT_LIMIT,
        ...(this.contextTakeover && this.window.length > 0 ? { dictionary: this.window } : {}),
      });
    } catch (err) {
      this.skip();
      if (err instanceof RangeError) {
        return { ok: false, message: `permessage-deflate: message inflates beyond ${INFLATE_OUTPUT_LIMIT} bytes; not inflated` };
      }
      return { ok: false, code: 1007, message: `permessage-deflate: invalid compressed data (${(err as Error).message})` };
    }
    if (this.contextTakeover) this.remember(data);
    return { ok: true, data };
  }

  private remember(data: Uint8Array): void {
    if (data.length >= WINDOW_SIZE) {
      this.window = data.slice(data.length - WINDOW_SIZE);
      return;
    }
    const keep = Math.min(this.window.length, WINDOW_SIZE - data.length);
    const next = new Uint8Array(keep + data.length);
    next.set(this.window.subarray(this.window.length - keep), 0);
    next.set(data, keep);
    this.window = next;
  }
}
