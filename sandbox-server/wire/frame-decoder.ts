// RFC 6455 §5.2 streaming frame parser for one direction. Pure: bytes in, items out.
// One state machine reads the header piece by piece, then streams the payload without keeping
// it: only the first `captureLimit` bytes are copied (for display), text is validated with a
// streaming UTF-8 decoder, and compressed messages keep at most INFLATE_INPUT_LIMIT bytes.
import { OPCODE_NAMES, PAYLOAD_CAPTURE_LIMIT } from '../protocol.ts';
import type { FrameEvent, MessageEvent } from '../protocol.ts';
import { concat, hex, isValidUtf8, utf8Prefix, violation } from './common.ts';
import type { InfoItem, ViolationItem } from './common.ts';
import { INFLATE_INPUT_LIMIT, MessageInflater } from './inflate.ts';

export type FrameItem = Omit<FrameEvent, 'seq' | 't' | 'conn' | 'from'>;
export type MessageItem = Omit<MessageEvent, 'seq' | 't' | 'conn' | 'from'>;
export type WireItem = FrameItem | MessageItem | ViolationItem | InfoItem;

export interface FrameDecoderOptions {
  /** Who sends these bytes: client frames must be masked, server frames must not. */
  role: 'client' | 'server';
  /** permessage-deflate was negotiated. */
  deflate?: boolean;
  /** The sender resets its LZ77 window after each message (`<role>_no_context_takeover`). */
  noContextTakeover?: boolean;
  captureLimit?: number;
}

const EMPTY = Buffer.alloc(0);

// Parser states.
const GET_INFO = 0;
const GET_LENGTH_16 = 1;
const GET_LENGTH_64 = 2;
const GET_MASK = 3;
const GET_PAYLOAD = 4;
const FAILED = 5;

/** A violation found while parsing: the item plus the failed state. */
class WireError {
  readonly item: ViolationItem;
  constructor(code: number, message: string) {
    this.item = violation(code, message);
  }
}

/** Close codes an endpoint may send (RFC 6455 §7.4; 1012–1014 registered with IANA since). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

export class FrameDecoder {
  private readonly role: 'client' | 'server';
  private readonly deflate: boolean;
  private readonly captureLimit: number;
  private readonly inflater: MessageInflater | null;

  private state = GET_INFO;
  /** Header bytes so far (2 to 14) and how many the current state waits for (a Buffer: cheap hex). */
  private readonly header = Buffer.alloc(14);
  private headerLength = 0;
  private need = 2;

  // Current frame.
  private fin = false;
  private rsv1 = false;
  private opcode = 0;
  private masked = false;
  private length = 0;
  private lengthForm: 7 | 16 | 64 = 7;
  private remaining = 0;
  private offset = 0;
  /**
   * Unmasked payload prefix: captureLimit bytes, or the whole payload of a control frame (≤ 125).
   * A view of `scratch`, reused frame after frame (pieces kept across frames are copied).
   */
  private capture: Buffer = EMPTY;
  private scratch: Buffer = EMPTY;

  // Current data message (msgOpcode 0: none in progress).
  private msgOpcode = 0;
  private msgFrames = 0;
  private msgLength = 0;
  private msgCompressed = false;
  private msgCapture: Uint8Array[] = [];
  private msgCaptured = 0;
  /** Fatal streaming decoder for an uncompressed text message; null when not needed. */
  private utf8: TextDecoder | null = null;
  /** The streaming validator, kept for the next message once it ended cleanly. */
  private validator: TextDecoder | null = null;
  /**
   * An uncompressed single-frame text message short enough to be captured whole: validated at
   * once at its end (no streaming decoder, no copy of the payload).
   */
  private utf8Whole = false;
  private utf8Error = false;
  /** Compressed payload kept for inflation; null once it went over INFLATE_INPUT_LIMIT. */
  private deflated: Uint8Array[] | null = null;
  private deflatedSize = 0;

  constructor(opts: FrameDecoderOptions) {
    this.role = opts.role;
    this.deflate = opts.deflate === true;
    this.captureLimit = Math.max(0, opts.captureLimit ?? PAYLOAD_CAPTURE_LIMIT);
    this.inflater = this.deflate ? new MessageInflater(opts.noContextTakeover !== true) : null;
  }

  /** A frame has started (some header or payload bytes read) and not ended yet. */
  get midFrame(): boolean {
    return this.state === GET_PAYLOAD || this.state === GET_LENGTH_16 || this.state === GET_LENGTH_64 || this.state === GET_MASK || this.headerLength > 0;
  }

  /** A data message has started (a frame without FIN) and its last frame has not ended yet. */
  get midMessage(): boolean {
    return this.msgOpcode !== 0 && this.state !== FAILED;
  }

  /** True after a violation: the rest of the stream is ignored, as a failed endpoint would. */
  get failed(): boolean {
    return this.state === FAILED;
  }

  push(chunk: Uint8Array): WireItem[] {
    const out: WireItem[] = [];
    let pos = 0;
    try {
      while (this.state !== FAILED && (pos < chunk.length || (this.state === GET_PAYLOAD && this.remaining === 0))) {
        if (this.state === GET_PAYLOAD) {
          const n = Math.min(this.remaining, chunk.length - pos);
          if (n > 0) this.payload(chunk, pos, pos + n);
          pos += n;
          if (this.remaining === 0) this.endFrame(out);
        } else {
          // At most 14 bytes: copied one by one (no subarray object per header piece).
          const h = this.header;
          const stop = pos + Math.min(this.need - this.headerLength, chunk.length - pos);
          while (pos < stop) h[this.headerLength++] = chunk[pos++];
          if (this.headerLength === this.need) this.headerStep();
        }
      }
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.state = FAILED;
      out.push(err.item);
    }
    return out;
  }

  /** Advances the header states once the bytes the current state waits for are in. */
  private headerStep(): void {
    const h = this.header;
    switch (this.state) {
      case GET_INFO: {
        this.fin = (h[0] & 0x80) !== 0;
        this.rsv1 = (h[0] & 0x40) !== 0;
        this.opcode = h[0] & 0x0f;
        this.masked = (h[1] & 0x80) !== 0;
        this.checkInfo();
        const len7 = h[1] & 0x7f;
        if (len7 === 126) {
          this.state = GET_LENGTH_16;
          this.need = 4;
          return;
        }
        if (len7 === 127) {
          this.state = GET_LENGTH_64;
          this.need = 10;
          return;
        }
        this.length = len7;
        this.lengthForm = 7;
        break;
      }
      case GET_LENGTH_16:
        this.length = (h[2] << 8) | h[3];
        this.lengthForm = 16;
        break;
      case GET_LENGTH_64: {
        const high = ((h[2] << 24) | (h[3] << 16) | (h[4] << 8) | h[5]) >>> 0;
        const low = ((h[6] << 24) | (h[7] << 16) | (h[8] << 8) | h[9]) >>> 0;
        if (high & 0x80000000) throw new WireError(1002, '64-bit payload length with its most significant bit set');
        // Beyond 2^53 - 1 a JS number loses precision; ws answers 1009 too.
        if (high > 0x1fffff) throw new WireError(1009, 'payload length above 2^53 - 1 is not supported');
        this.length = high * 0x100000000 + low;
        this.lengthForm = 64;
        break;
      }
      case GET_MASK:
        this.startPayload();
        return;
    }
    if (this.masked) {
      this.state = GET_MASK;
      this.need = this.headerLength + 4;
      return;
    }
    this.startPayload();
  }

  /** Checks of the first two header bytes (RFC 6455 §5.2, §5.4, §5.5; RFC 7692 §6). */
  private checkInfo(): void {
    const h = this.header;
    const op = this.opcode;
    const control = op >= 0x8;
    if ((op >= 0x3 && op <= 0x7) || op >= 0xb) throw new WireError(1002, `reserved opcode 0x${op.toString(16)}`);
    if (h[0] & 0x30) throw new WireError(1002, 'RSV2/RSV3 set but no extension defines them');
    if (this.rsv1) {
      if (!this.deflate) throw new WireError(1002, 'RSV1 set but no extension was negotiated');
      if (control) throw new WireError(1002, 'RSV1 set on a control frame');
      if (op === 0x0) throw new WireError(1002, 'RSV1 set on a continuation frame');
    }
    if (control) {
      if (!this.fin) throw new WireError(1002, 'fragmented control frame');
      if ((h[1] & 0x7f) > 125) throw new WireError(1002, 'control frame payload longer than 125 bytes');
    } else if (op === 0x0) {
      if (this.msgOpcode === 0) throw new WireError(1002, 'continuation frame without a message to continue');
    } else if (this.msgOpcode !== 0) {
      throw new WireError(1002, 'new data frame while a fragmented message is still open');
    }
    if (this.role === 'client' && !this.masked) throw new WireError(1002, 'client frame is not masked');
    if (this.role === 'server' && this.masked) throw new WireError(1002, 'server frame is masked');
  }

  private startPayload(): void {
    const control = this.opcode >= 0x8;
    this.state = GET_PAYLOAD;
    this.remaining = this.length;
    this.offset = 0;
    // Uninitialized: every byte read back is written first, by payload().
    const size = control ? this.length : Math.min(this.length, this.captureLimit);
    if (size > this.scratch.length) {
      let grown = Math.max(64, this.scratch.length);
      while (grown < size) grown *= 2;
      this.scratch = Buffer.allocUnsafeSlow(Math.min(grown, Math.max(size, this.captureLimit, 125)));
    }
    this.capture = size === this.scratch.length ? this.scratch : this.scratch.subarray(0, size);
    if (this.opcode === 0x1 || this.opcode === 0x2) {
      this.msgOpcode = this.opcode;
      this.msgFrames = 0;
      this.msgLength = 0;
      this.msgCompressed = this.rsv1;
      this.msgCapture = [];
      this.msgCaptured = 0;
      const text = this.opcode === 0x1 && !this.rsv1;
      this.utf8Whole = text && this.fin && this.length <= this.captureLimit;
      this.utf8 = text && !this.utf8Whole ? (this.validator ??= new TextDecoder('utf-8', { fatal: true })) : null;
      this.utf8Error = false;
      this.deflated = this.rsv1 ? [] : null;
      this.deflatedSize = 0;
    }
  }

  /** Consumes payload bytes chunk[start, end): capture a prefix, feed the validator or the inflation buffer. */
  private payload(chunk: Uint8Array, start: number, end: number): void {
    const length = end - start;
    const at = this.offset;
    this.offset += length;
    this.remaining -= length;
    const isData = this.opcode < 0x8;
    const needAll = isData && (this.utf8 !== null || (this.msgCompressed && this.deflated !== null));
    if (!needAll) {
      // Only the captured prefix matters: unmask just that part, skip the rest without copying.
      if (at < this.capture.length) {
        const n = Math.min(this.capture.length - at, length);
        this.unmaskInto(chunk, start, start + n, at, this.capture, at);
      }
      if (this.msgCompressed && isData) this.deflatedSize += length;
      return;
    }
    let plain: Uint8Array;
    if (this.masked) {
      plain = new Uint8Array(length);
      this.unmaskInto(chunk, start, end, at, plain, 0);
    } else {
      plain = chunk.subarray(start, end);
    }
    if (at < this.capture.length) {
      this.capture.set(plain.subarray(0, Math.min(this.capture.length - at, plain.length)), at);
    }
    if (this.utf8 !== null && !this.utf8Error) {
      try {
        this.utf8.decode(plain, { stream: true });
      } catch {
        this.utf8Error = true;
        this.validator = null; // its state after an error is not relied upon
      }
    }
    if (this.msgCompressed && this.deflated !== null) {
      this.deflatedSize += plain.length;
      if (this.deflatedSize > INFLATE_INPUT_LIMIT) {
        this.deflated = null; // over the bound: drop what we kept, report at the end
      } else {
        this.deflated.push(this.masked ? plain : plain.slice());
      }
    }
  }

  /** XORs src[start, end) with the masking key (payload offset `at` picks the key byte) into dst; never touches the input. */
  private unmaskInto(src: Uint8Array, start: number, end: number, at: number, dst: Uint8Array, dstAt: number): void {
    if (!this.masked) {
      for (let i = start; i < end; i++) dst[dstAt++] = src[i];
      return;
    }
    const h = this.header;
    const k = this.headerLength - 4;
    for (let i = start; i < end; i++) dst[dstAt++] = src[i] ^ h[k + ((at++) & 3)];
  }

  private endFrame(out: WireItem[]): void {
    const op = this.opcode;
    const frame: FrameItem = {
      type: 'frame',
      fin: this.fin,
      rsv1: this.rsv1,
      rsv2: (this.header[0] & 0x20) !== 0,
      rsv3: (this.header[0] & 0x10) !== 0,
      opcode: op,
      opcodeName: OPCODE_NAMES[op],
      masked: this.masked,
      maskKey: null,
      length: this.length,
      lengthForm: this.lengthForm,
      header: this.header.toString('hex', 0, this.headerLength),
      payload: this.capture.toString('hex', 0, Math.min(this.capture.length, this.captureLimit)),
    };
    if (this.masked) frame.maskKey = frame.header.slice(-8);
    if (this.length > this.captureLimit) frame.truncated = true;
    const after: WireItem[] = [];
    let error: WireError | null = null;
    if (op === 0x8) {
      error = this.closeFields(frame);
    } else if (op < 0x8) {
      error = this.dataFrame(frame, after);
    }
    // Reset for the next header before reporting.
    this.state = GET_INFO;
    this.headerLength = 0;
    this.need = 2;
    this.capture = EMPTY;
    out.push(frame);
    for (let i = 0; i < after.length; i++) out.push(after[i]);
    if (error) throw error;
  }

  /** Close frame: status code and reason (RFC 6455 §5.5.1, §7.4). */
  private closeFields(frame: FrameItem): WireError | null {
    const p = this.capture;
    if (p.length === 0) return null;
    if (p.length === 1) return new WireError(1002, 'close frame payload of 1 byte (a status code needs 2)');
    frame.code = (p[0] << 8) | p[1];
    const reasonBytes = p.subarray(2);
    frame.reason = utf8Prefix(reasonBytes);
    if (!isValidCloseCode(frame.code)) return new WireError(1002, `invalid close code ${frame.code}`);
    if (!isValidUtf8(reasonBytes)) return new WireError(1007, 'close reason is not valid UTF-8');
    return null;
  }

  /** Data frame: message bookkeeping; `after` receives the message item when this frame ends it. */
  private dataFrame(frame: FrameItem, after: WireItem[]): WireError | null {
    this.msgFrames++;
    this.msgLength += this.length;
    const room = this.captureLimit - this.msgCaptured;
    if (room > 0 && this.capture.length > 0) {
      // A copy unless this frame ends the message (capture is reused by the next frame).
      const view = this.capture.subarray(0, Math.min(room, this.capture.length));
      const piece = this.fin ? view : Uint8Array.prototype.slice.call(view);
      this.msgCapture.push(piece);
      this.msgCaptured += piece.length;
    }
    if (this.msgOpcode === 0x1 && !this.msgCompressed) frame.text = utf8Prefix(this.capture);
    if (this.utf8Whole && !isValidUtf8(this.capture)) {
      const inside = endsInsideSequence(this.capture);
      return this.endMessage(new WireError(1007, inside ? 'text message ends inside a UTF-8 sequence' : 'text message is not valid UTF-8'));
    }
    if (this.utf8Error) return this.endMessage(new WireError(1007, 'text message is not valid UTF-8'));
    if (!this.fin) return null;
    if (this.msgCompressed) return this.endMessage(this.inflateMessage(frame, after));
    if (this.utf8 !== null) {
      try {
        this.utf8.decode();
      } catch {
        this.validator = null;
        return this.endMessage(new WireError(1007, 'text message ends inside a UTF-8 sequence'));
      }
    }
    const msg: MessageItem = this.messageBase(this.msgLength);
    if (this.msgFrames === 1) {
      // One frame: the message shows the same captured bytes as the frame.
      if (this.msgOpcode === 0x1) msg.text = frame.text;
      else msg.data = frame.payload;
    } else {
      const captured = concat(this.msgCapture, this.msgCaptured);
      if (this.msgOpcode === 0x1) msg.text = utf8Prefix(captured);
      else msg.data = hex(captured);
    }
    if (this.msgLength > this.captureLimit) msg.truncated = true;
    after.push(msg);
    return this.endMessage(null);
  }

  private messageBase(length: number): MessageItem {
    return { type: 'message', opcode: this.msgOpcode, length, frames: this.msgFrames, compressed: this.msgCompressed };
  }

  /** Inflates the finished compressed message; on our own limits, reports a note and a bare message. */
  private inflateMessage(frame: FrameItem, after: WireItem[]): WireError | null {
    const inflater = this.inflater as MessageInflater;
    let result;
    if (this.deflated === null) {
      inflater.skip();
      result = { ok: false as const, message: `permessage-deflate: ${this.deflatedSize} compressed bytes exceed the ${INFLATE_INPUT_LIMIT}-byte inflation bound; not inflated` };
    } else {
      result = inflater.inflate(this.deflated);
    }
    if (!result.ok) {
      if (result.code !== undefined) return new WireError(result.code, result.message);
      // Not the sender's fault: show the message with its compressed length and no content.
      after.push({ type: 'info', message: result.message });
      after.push({ ...this.messageBase(this.deflatedSize), truncated: true });
      return null;
    }
    const data = result.data;
    const shown = data.subarray(0, Math.min(data.length, this.captureLimit));
    const msg: MessageItem = this.messageBase(data.length);
    if (this.msgOpcode === 0x1) {
      if (!isValidUtf8(data)) return new WireError(1007, 'inflated text message is not valid UTF-8');
      msg.text = utf8Prefix(shown);
      if (this.msgFrames === 1) frame.text = msg.text;
    } else {
      msg.data = hex(shown);
    }
    if (data.length > this.captureLimit) msg.truncated = true;
    after.push(msg);
    return null;
  }

  private endMessage(error: WireError | null): WireError | null {
    this.msgOpcode = 0;
    this.msgCapture = [];
    this.utf8 = null;
    this.utf8Whole = false;
    this.deflated = null;
    return error;
  }
}

/**
 * For invalid UTF-8 of a whole message: true when the only fault is an incomplete sequence at the
 * end (what a streaming validator reports at the message's end, not while reading it).
 */
function endsInsideSequence(bytes: Uint8Array): boolean {
  const d = new TextDecoder('utf-8', { fatal: true });
  try {
    d.decode(bytes, { stream: true });
  } catch {
    return false;
  }
  return true;
}
