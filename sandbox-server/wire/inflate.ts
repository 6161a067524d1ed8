// permessage-deflate (RFC 7692) inflation, streamed fragment by fragment, synchronously, one
// instance per direction: the same zlib inflate state machine ws drives, fed the same bytes at the
// same boundaries, so that a corrupt fragment is found where ws finds it (ws inflates each frame as
// it arrives and closes with 1007 at once, not at the message's end).
//
// The decoders are synchronous (the tap decodes a chunk before ws sees it), and Node's public
// zlib API is either asynchronous (streams) or one-shot (inflateRawSync, which closes its state
// after one call). So the zlib handle of a `createInflateRaw()` stream is driven directly with its
// synchronous `writeSync`, exactly as Node's own inflateRawSync does internally, but kept open
// between calls. The stream object only owns the handle; it never sees a write.
//
// What ws does, and what is mirrored here (ws 8.23, permessage-deflate.js):
// - per frame: write the payload, and on the message's last frame the 00 00 ff ff tail (RFC 7692
//   §7.2.2), then flush; a zlib error is 1007;
// - a deflate stream that ends (a block with BFINAL set) takes no more input: Node's zlib stream
//   then ends when input is left over, the rest being dropped silently, and ws replaces the
//   inflater at the end of that frame (the next one starts without any history);
// - `client_no_context_takeover`: the inflater is reset after each message.
import { constants, createInflateRaw } from 'node:zlib';

/** Most compressed bytes inflated for one message; above it the rest is not inflated (CPU bound). */
export const INFLATE_INPUT_LIMIT = 1 << 20;
/** Most inflated bytes produced for one message (guards against compression bombs). */
export const INFLATE_OUTPUT_LIMIT = 16 << 20;
/** The empty stored block a sender strips from each message (RFC 7692 §7.2.1). */
const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

/** The parts of Node's native zlib handle used here (lib/zlib.js uses the same ones). */
interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
  close(): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

if (typeof (createInflateRaw() as unknown as { _handle?: ZlibHandle })._handle?.writeSync !== 'function') {
  // Fails at load, in every test, rather than on the first compressed message in production.
  throw new Error('inflate.ts: this Node version has no synchronous zlib handle (writeSync)');
}

/**
 * One output buffer for every inflater: everything here is synchronous, and each piece is handed
 * to the caller's sink before the next write reuses it.
 */
const OUT = Buffer.allocUnsafeSlow(16 * 1024);

/**
 * Receives inflated bytes (a view of a shared buffer: copy what you keep). Returning false stops:
 * the inflater is dropped (its state is mid-stream), the next write starts a fresh one.
 */
export type InflateSink = (bytes: Uint8Array) => boolean;

export class StreamInflater {
  private readonly windowBits: number;
  private handle: ZlibHandle | null = null;
  private state: Uint32Array = new Uint32Array(2);
  /** zlib's error for the current write, set synchronously by the handle's onerror. */
  private error: string | null = null;
  /**
   * The deflate stream ended and input came after its end: Node's stream ends there and ws drops
   * the inflater after this frame. Later bytes of this frame are ignored.
   */
  private finished = false;

  constructor(windowBits = 15) {
    this.windowBits = windowBits;
  }

  /**
   * Inflates one piece of a frame's payload. Returns zlib's error message (the data is corrupt:
   * 1007), or null. After an error the inflater is gone: the connection is failed anyway.
   */
  write(input: Uint8Array, sink: InflateSink): string | null {
    if (input.length === 0 || this.finished) return null;
    const handle = this.handle ?? this.open();
    const state = this.state;
    let inOff = 0;
    let inLen = input.length;
    for (;;) {
      handle.writeSync(constants.Z_SYNC_FLUSH, input, inOff, inLen, OUT, 0, OUT.length);
      if (this.error !== null) {
        const message = this.error;
        this.drop();
        return message;
      }
      const availOut = state[0];
      const availIn = state[1];
      const produced = OUT.length - availOut;
      if (produced > 0 && !sink(OUT.subarray(0, produced))) {
        this.drop();
        return null;
      }
      inOff += inLen - availIn;
      inLen = availIn;
      // A full output buffer: zlib may have more to give for the same input.
      if (availOut === 0) continue;
      // Room left and input left: zlib wants no more (the deflate stream ended). Node's stream
      // ends here, dropping that input, as lib/zlib.js's processCallback does.
      if (availIn > 0) this.finished = true;
      return null;
    }
  }

  /**
   * The frame's payload is all in: on the message's last frame the tail goes in too. Then, as ws
   * does in its flush callback: an ended stream is replaced, and without context takeover the
   * inflater is reset after each message.
   */
  endFrame(fin: boolean, noContextTakeover: boolean, sink: InflateSink): string | null {
    if (fin) {
      const error = this.write(TAIL, sink);
      if (error !== null) return error;
    }
    if (this.finished) this.drop();
    else if (fin && noContextTakeover) this.handle?.reset();
    return null;
  }

  /** Forgets all history (the next message starts a fresh inflater). */
  drop(): void {
    this.handle?.close();
    this.handle = null;
    this.finished = false;
    this.error = null;
  }

  private open(): ZlibHandle {
    // A small chunk size: the stream's own output buffer is never used (OUT is).
    const stream = createInflateRaw({ windowBits: this.windowBits, chunkSize: 64 }) as unknown as {
      _handle: ZlibHandle;
      _writeState: Uint32Array;
    };
    const handle = stream._handle;
    this.state = stream._writeState;
    // Replaces lib/zlib.js's handler, which would destroy the stream and emit 'error' later: the
    // error is wanted now, synchronously, as a return value.
    handle.onerror = (message: string) => {
      this.error = message;
    };
    this.handle = handle;
    return handle;
  }
}
