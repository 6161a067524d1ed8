// RFC 6455 §5.2 streaming frame parser for one direction. Pure: bytes in, items out.
// One state machine reads the header piece by piece, then streams the payload without keeping
// it: only the first `captureLimit` bytes are copied (for display), text is validated with a
// streaming UTF-8 decoder, and compressed frames are inflated as they arrive (inflate.ts).
//
// The monitor must report the close code the server really sends, and the sandbox's server is ws
// 8.23: every check below is made where ws's Receiver makes it (node_modules/ws/lib/receiver.js),
// in the same order, with the same code:
// - header checks (RSV2/RSV3, RSV1, opcode, FIN of control frames, control length, a close frame
//   of 1 byte, MASK) as soon as the first two bytes are in, all 1002;
// - a 64-bit length above 2^53 - 1 (so also one with its top bit set) is 1009, as ws says;
// - a close frame's code (1002) and reason (1007) once its payload is in; after a valid close
//   frame ws reads nothing more, nor does this decoder;
// - compressed data is inflated frame by frame: corrupt data is 1007 at the end of that frame;
// - text is validated when the message ends (FIN), after inflation: an invalid byte in an early
//   fragment is reported only then, so a protocol error in a later frame comes first, as in ws.
// Limits ws enforces from its options (maxPayload → 1009, maxFragments → 1008…) are not checked
// here: the scenarios report them as `limit` events. Each violation names its rule by a stable id
// (`WS_ERR_…`, #protocol's VIOLATION_CODES, which holds the code), with an English detail.
//
// A frame that breaks the protocol is itself reported, marked `violating`, just before the
// violation: with the header fields read so far, and when the fault is in the header, with the
// rest of its header and payload taken from the bytes of the chunk being parsed (ws closes the
// connection at once, so no more will be read); `partial` when some of the frame was not there.
import { OPCODE_NAMES, PAYLOAD_CAPTURE_LIMIT } from '#protocol';
import type { FrameEvent, MessageEvent, ViolationId } from '#protocol';
import { concat, hex, isValidUtf8, utf8Prefix, violation } from './common.ts';
import type { InfoItem, ViolationItem, WireNote } from './common.ts';
import { INFLATE_INPUT_LIMIT, INFLATE_OUTPUT_LIMIT, StreamInflater } from './inflate.ts';

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
  /** `<role>_max_window_bits` when negotiated with a value (ws inflates with that window). */
  windowBits?: number;
  captureLimit?: number;
}

const EMPTY = Buffer.alloc(0);

// Parser states.
const GET_INFO = 0;
const GET_LENGTH_16 = 1;
const GET_LENGTH_64 = 2;
const GET_MASK = 3;
const GET_PAYLOAD = 4;
/** A violation was reported: the rest of the stream is ignored, as the failed endpoint does. */
const FAILED = 5;
/** A valid close frame was read: ws reads nothing after it, and neither does the decoder. */
const CLOSED = 6;

// Inflation of the current compressed message.
const INFLATE_ON = 0;
/** Over one of our bounds, or its history was lost: not inflated (reported as a note). */
const INFLATE_SKIPPED = 1;

/** A violation found while parsing: its rule, with an English detail (the code follows from the id). */
class WireError {
  readonly item: ViolationItem;
  /** Found in the header: the violating frame is built from the bytes at hand. */
  readonly inHeader: boolean;
  constructor(id: ViolationId, detail: string, inHeader = false) {
    this.item = violation(id, detail);
    this.inHeader = inHeader;
  }
}

function headerFault(id: ViolationId, detail: string): WireError {
  return new WireError(id, detail, true);
}

/** Close codes an endpoint may send (RFC 6455 §7.4; 1012–1014 registered with IANA since). Same as ws's isValidStatusCode. */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/**
 * Shared scratch for unmasking payload pieces that must be read whole (text to validate, data to
 * inflate): everything is synchronous, and each piece is consumed before the next one is written.
 */
const SCRATCH = Buffer.allocUnsafeSlow(16 * 1024);

export class FrameDecoder {
  private readonly role: 'client' | 'server';
  private readonly deflate: boolean;
  private readonly noContextTakeover: boolean;
  private readonly captureLimit: number;
  private readonly inflater: StreamInflater | null;

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
  /** Payload bytes of the message's frames as sent (compressed ones for a compressed message). */
  private msgWireLength = 0;
  /** Captured message bytes (inflated ones for a compressed message), at most captureLimit. */
  private msgCapture: Uint8Array[] = [];
  private msgCaptured = 0;
  /** Fatal streaming decoder for a text message read piece by piece; null when not needed. */
  private utf8: TextDecoder | null = null;
  /** The streaming validator, kept for the next message once it ended cleanly. */
  private validator: TextDecoder | null = null;
  /**
   * An uncompressed single-frame text message short enough to be captured whole: validated at
   * once at its end (no streaming decoder, no copy of the payload).
   */
  private utf8Whole = false;
  /** Invalid UTF-8 seen in this text message: reported when the message ends (FIN), as ws does. */
  private utf8Error = false;

  // Compressed message.
  private inflateState = INFLATE_ON;
  /** Why the current message is not inflated (a note for the learner, worded by the tap). */
  private inflateNote: WireNote = 'INFLATE_HISTORY_LOST';
  /** Compressed bytes given to the inflater for this message. */
  private inflateIn = 0;
  /** zlib's error in the current frame: reported as 1007 at the frame's end (when ws would). */
  private inflateError: string | null = null;
  /**
   * With context takeover, a message that was not inflated takes the next ones' history with it:
   * from then on nothing is inflated (nor reported as corrupt).
   */
  private historyLost = false;
  /** The inflater's output goes here (bound once: no closure per piece). */
  private readonly onInflated = (bytes: Uint8Array): boolean => this.inflated(bytes);

  constructor(opts: FrameDecoderOptions) {
    this.role = opts.role;
    this.deflate = opts.deflate === true;
    this.noContextTakeover = opts.noContextTakeover === true;
    this.captureLimit = Math.max(0, opts.captureLimit ?? PAYLOAD_CAPTURE_LIMIT);
    this.inflater = this.deflate ? new StreamInflater(opts.windowBits ?? 15) : null;
  }

  /** A frame has started (some header or payload bytes read) and not ended yet. */
  get midFrame(): boolean {
    return this.state < FAILED && (this.state !== GET_INFO || this.headerLength > 0);
  }

  /** A data message has started (a frame without FIN) and its last frame has not ended yet. */
  get midMessage(): boolean {
    return this.msgOpcode !== 0 && this.state < FAILED;
  }

  /** True after a violation: the rest of the stream is ignored, as a failed endpoint would. */
  get failed(): boolean {
    return this.state === FAILED;
  }

  /** True after a valid close frame: the rest of the stream is ignored, as ws does. */
  get closed(): boolean {
    return this.state === CLOSED;
  }

  push(chunk: Uint8Array): WireItem[] {
    const out: WireItem[] = [];
    let pos = 0;
    try {
      while (this.state < FAILED && (pos < chunk.length || (this.state === GET_PAYLOAD && this.remaining === 0))) {
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
      if (err.inHeader) out.push(this.violatingFrame(chunk, pos));
      this.fail();
      out.push(err.item);
    }
    return out;
  }

  /** Stops for good: frees what a message in progress held. */
  private fail(): void {
    this.state = FAILED;
    this.capture = EMPTY;
    this.scratch = EMPTY;
    this.endMessage();
    this.inflater?.drop();
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
          this.lengthForm = 16;
          this.state = GET_LENGTH_16;
          this.need = 4;
          return;
        }
        if (len7 === 127) {
          this.lengthForm = 64;
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
        break;
      case GET_LENGTH_64: {
        const high = ((h[2] << 24) | (h[3] << 16) | (h[4] << 8) | h[5]) >>> 0;
        // Beyond 2^53 - 1 a JS number loses precision: ws closes with 1009, and so also when the
        // most significant bit is set (which RFC 6455 forbids: ws does not check it apart).
        if (high & 0x80000000)
          throw new WireError('WS_ERR_LENGTH_MSB_SET', '64-bit payload length with its most significant bit set', true);
        if (high > 0x1fffff) throw new WireError('WS_ERR_PAYLOAD_TOO_BIG', 'payload length above 2^53 - 1 is not supported', true);
        this.length = readLength64(h);
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

  /** Checks of the first two header bytes, in ws's order (RFC 6455 §5.2, §5.4, §5.5; RFC 7692 §6). */
  private checkInfo(): void {
    const h = this.header;
    const op = this.opcode;
    if (h[0] & 0x30) throw headerFault('WS_ERR_RSV2_RSV3', 'RSV2/RSV3 set but no extension defines them');
    if (this.rsv1 && !this.deflate) throw headerFault('WS_ERR_UNEXPECTED_RSV1', 'RSV1 set but no extension was negotiated');
    if (op === 0x0) {
      if (this.rsv1) throw headerFault('WS_ERR_RSV1_ON_CONTINUATION', 'RSV1 set on a continuation frame');
      if (this.msgOpcode === 0) throw headerFault('WS_ERR_UNEXPECTED_CONTINUATION', 'continuation frame without a message to continue');
    } else if (op === 0x1 || op === 0x2) {
      if (this.msgOpcode !== 0)
        throw headerFault('WS_ERR_EXPECTED_CONTINUATION', 'new data frame while a fragmented message is still open');
    } else if (op >= 0x8 && op <= 0xa) {
      if (!this.fin) throw headerFault('WS_ERR_CONTROL_FRAGMENTED', 'fragmented control frame');
      if (this.rsv1) throw headerFault('WS_ERR_RSV1_ON_CONTROL', 'RSV1 set on a control frame');
      const len7 = h[1] & 0x7f;
      if (len7 > 125) throw headerFault('WS_ERR_CONTROL_TOO_LONG', 'control frame payload longer than 125 bytes');
      if (op === 0x8 && len7 === 1) throw headerFault('WS_ERR_CLOSE_ONE_BYTE', 'close frame payload of 1 byte (a status code needs 2)');
    } else {
      throw headerFault('WS_ERR_RESERVED_OPCODE', `reserved opcode 0x${op.toString(16)}`);
    }
    if (this.role === 'client' && !this.masked) throw headerFault('WS_ERR_UNMASKED_CLIENT_FRAME', 'client frame is not masked');
    if (this.role === 'server' && this.masked) throw headerFault('WS_ERR_MASKED_SERVER_FRAME', 'server frame is masked');
  }

  private startPayload(): void {
    const control = this.opcode >= 0x8;
    this.state = GET_PAYLOAD;
    this.remaining = this.length;
    this.offset = 0;
    this.inflateError = null;
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
      this.msgWireLength = 0;
      this.msgCapture = [];
      this.msgCaptured = 0;
      const text = this.opcode === 0x1;
      this.utf8Whole = text && !this.rsv1 && this.fin && this.length <= this.captureLimit;
      this.utf8 = text && !this.utf8Whole ? (this.validator ??= new TextDecoder('utf-8', { fatal: true })) : null;
      this.utf8Error = false;
      this.inflateIn = 0;
      this.inflateState = INFLATE_ON;
      if (this.rsv1 && this.historyLost) {
        this.inflateState = INFLATE_SKIPPED;
        this.inflateNote = 'INFLATE_HISTORY_LOST';
      }
    }
  }

  /** Consumes payload bytes chunk[start, end): capture a prefix, feed the validator or the inflater. */
  private payload(chunk: Uint8Array, start: number, end: number): void {
    const length = end - start;
    const at = this.offset;
    this.offset += length;
    this.remaining -= length;
    const isData = this.opcode < 0x8;
    const inflating = isData && this.msgCompressed && this.inflateState === INFLATE_ON && this.inflateError === null;
    const validating = isData && this.utf8 !== null && !this.msgCompressed && !this.utf8Error;
    if (at < this.capture.length) {
      const n = Math.min(this.capture.length - at, length);
      this.unmaskInto(chunk, start, start + n, at, this.capture, at);
    }
    if (!inflating && !validating) return;
    // Read whole, piece by piece: unmasked into the shared scratch (never into the input).
    for (let from = start; from < end; from += SCRATCH.length) {
      const to = Math.min(end, from + SCRATCH.length);
      let plain: Uint8Array;
      if (this.masked) {
        this.unmaskInto(chunk, from, to, at + (from - start), SCRATCH, 0);
        plain = SCRATCH.subarray(0, to - from);
      } else {
        plain = chunk.subarray(from, to);
      }
      if (validating) {
        this.validate(plain);
        if (this.utf8Error) return;
      } else if (!this.inflate(plain)) {
        return;
      }
    }
  }

  /** Streams text through the fatal decoder; an error is kept for the message's end. */
  private validate(plain: Uint8Array): void {
    try {
      (this.utf8 as TextDecoder).decode(plain, { stream: true });
    } catch {
      this.utf8Error = true;
      this.validator = null; // its state after an error is not relied upon
    }
  }

  /** Inflates a piece of compressed payload; false once this frame's inflation stopped. */
  private inflate(plain: Uint8Array): boolean {
    this.inflateIn += plain.length;
    if (this.inflateIn > INFLATE_INPUT_LIMIT) {
      this.skipInflation('INFLATE_INPUT_LIMIT');
      return false;
    }
    const error = (this.inflater as StreamInflater).write(plain, this.onInflated);
    if (error !== null) {
      this.inflateError = error;
      return false;
    }
    return this.inflateState === INFLATE_ON;
  }

  /** Receives inflated bytes: counted, captured, validated if text; false stops the inflater. */
  private inflated(bytes: Uint8Array): boolean {
    if (this.inflateState !== INFLATE_ON) return false;
    this.msgLength += bytes.length;
    if (this.msgLength > INFLATE_OUTPUT_LIMIT) {
      this.skipInflation('INFLATE_OUTPUT_LIMIT');
      return false;
    }
    const room = this.captureLimit - this.msgCaptured;
    if (room > 0) {
      // A copy (Uint8Array's slice: Buffer's would be a view of the inflater's reused buffer).
      const piece = Uint8Array.prototype.slice.call(bytes, 0, Math.min(room, bytes.length));
      this.msgCapture.push(piece);
      this.msgCaptured += piece.length;
    }
    if (this.utf8 !== null && !this.utf8Error) this.validate(bytes);
    return true;
  }

  /** Gives up inflating this message (our bounds): its history, if the sender keeps one, is lost too. */
  private skipInflation(note: WireNote): void {
    this.inflateState = INFLATE_SKIPPED;
    this.inflateNote = note;
    (this.inflater as StreamInflater).drop();
    if (!this.noContextTakeover) this.historyLost = true;
  }

  /** XORs src[start, end) with the masking key (payload offset `at` picks the key byte) into dst; never touches the input. */
  private unmaskInto(src: Uint8Array, start: number, end: number, at: number, dst: Uint8Array, dstAt: number): void {
    if (!this.masked) {
      for (let i = start; i < end; i++) dst[dstAt++] = src[i];
      return;
    }
    const h = this.header;
    const k = this.headerLength - 4;
    for (let i = start; i < end; i++) dst[dstAt++] = src[i] ^ h[k + (at++ & 3)];
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
    let closing = false;
    if (op === 0x8) {
      error = this.closeFields(frame);
      closing = error === null;
    } else if (op < 0x8) {
      error = this.dataFrame(frame, after);
    }
    // Reset for the next header before reporting.
    this.state = closing ? CLOSED : GET_INFO;
    this.headerLength = 0;
    this.need = 2;
    this.capture = EMPTY;
    if (error) frame.violating = true;
    out.push(frame);
    for (let i = 0; i < after.length; i++) out.push(after[i]);
    if (error) throw error;
    if (closing) {
      // Nothing is read after a close frame: free what the decoder holds.
      this.scratch = EMPTY;
      this.endMessage();
      this.inflater?.drop();
    }
  }

  /** Close frame: status code and reason (RFC 6455 §5.5.1, §7.4). A 1-byte payload failed in the header. */
  private closeFields(frame: FrameItem): WireError | null {
    const p = this.capture;
    if (p.length < 2) return null;
    frame.code = (p[0] << 8) | p[1];
    const reasonBytes = p.subarray(2);
    frame.reason = utf8Prefix(reasonBytes);
    if (!isValidCloseCode(frame.code)) return new WireError('WS_ERR_INVALID_CLOSE_CODE', `invalid close code ${frame.code}`);
    if (!isValidUtf8(reasonBytes)) return new WireError('WS_ERR_INVALID_CLOSE_REASON', 'close reason is not valid UTF-8');
    return null;
  }

  /** Data frame: message bookkeeping; `after` receives the message item when this frame ends it. */
  private dataFrame(frame: FrameItem, after: WireItem[]): WireError | null {
    this.msgFrames++;
    if (this.msgCompressed) return this.compressedFrame(frame, after);
    this.msgLength += this.length;
    const room = this.captureLimit - this.msgCaptured;
    if (room > 0 && this.capture.length > 0) {
      // A copy unless this frame ends the message (capture is reused by the next frame).
      const view = this.capture.subarray(0, Math.min(room, this.capture.length));
      const piece = this.fin ? view : Uint8Array.prototype.slice.call(view);
      this.msgCapture.push(piece);
      this.msgCaptured += piece.length;
    }
    if (this.msgOpcode === 0x1) frame.text = utf8Prefix(this.capture);
    if (!this.fin) return null;
    // ws validates text once the message is whole: only now is invalid UTF-8 reported.
    if (this.utf8Whole && !isValidUtf8(this.capture)) {
      return this.failMessage(endsInsideSequence(this.capture) ? incompleteUtf8() : invalidUtf8());
    }
    if (this.utf8Error) return this.failMessage(invalidUtf8());
    if (this.utf8 !== null) {
      try {
        this.utf8.decode();
      } catch {
        this.validator = null;
        return this.failMessage(incompleteUtf8());
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
    this.endMessage();
    return null;
  }

  /** A frame of a compressed message: its inflation ends (tail on FIN); the message item on FIN. */
  private compressedFrame(frame: FrameItem, after: WireItem[]): WireError | null {
    const inflater = this.inflater as StreamInflater;
    this.msgWireLength += this.length;
    if (this.inflateState === INFLATE_ON && this.inflateError === null) {
      this.inflateError = inflater.endFrame(this.fin, this.noContextTakeover, this.onInflated);
    } else if (this.fin && this.noContextTakeover) {
      inflater.drop(); // skipped: the next message starts afresh anyway
    }
    if (this.inflateError !== null) {
      return this.failMessage(new WireError('WS_ERR_INFLATE', `permessage-deflate: invalid compressed data (${this.inflateError})`));
    }
    if (!this.fin) return null;
    if (this.inflateState !== INFLATE_ON) {
      // Not the sender's fault: show the message with its compressed length and no content.
      after.push(inflateNote(this.inflateNote));
      after.push({ ...this.messageBase(this.msgWireLength), truncated: true });
      this.endMessage();
      return null;
    }
    if (this.utf8 !== null) {
      if (!this.utf8Error) {
        try {
          this.utf8.decode();
        } catch {
          this.utf8Error = true;
          this.validator = null;
        }
      }
      if (this.utf8Error)
        return this.failMessage(new WireError('WS_ERR_INFLATED_INVALID_UTF8', 'inflated text message is not valid UTF-8'));
    }
    const captured = concat(this.msgCapture, this.msgCaptured);
    const msg: MessageItem = this.messageBase(this.msgLength);
    if (this.msgOpcode === 0x1) {
      msg.text = utf8Prefix(captured);
      if (this.msgFrames === 1) frame.text = msg.text;
    } else {
      msg.data = hex(captured);
    }
    if (this.msgLength > this.captureLimit) msg.truncated = true;
    after.push(msg);
    this.endMessage();
    return null;
  }

  private messageBase(length: number): MessageItem {
    return { type: 'message', opcode: this.msgOpcode, length, frames: this.msgFrames, compressed: this.msgCompressed };
  }

  private failMessage(error: WireError): WireError {
    this.endMessage();
    return error;
  }

  private endMessage(): void {
    this.msgOpcode = 0;
    this.msgCapture = [];
    this.utf8 = null;
    this.utf8Whole = false;
  }

  /**
   * The frame whose header broke the protocol, with every field that could be read: the rest of
   * its header and its payload prefix from the bytes of this chunk after `pos` (the sender's
   * peer closes now, so later chunks do not count). Fields not read keep zero values.
   */
  private violatingFrame(chunk: Uint8Array, pos: number): FrameItem {
    const h = this.header;
    const len7 = h[1] & 0x7f;
    const masked = (h[1] & 0x80) !== 0;
    const extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const full = 2 + extended + (masked ? 4 : 0);
    while (this.headerLength < full && pos < chunk.length) h[this.headerLength++] = chunk[pos++];
    const n = this.headerLength;
    const lengthKnown = n >= 2 + extended;
    const length = !lengthKnown ? 0 : extended === 0 ? len7 : extended === 2 ? (h[2] << 8) | h[3] : readLength64(h);
    const keyAt = 2 + extended;
    const op = h[0] & 0x0f;
    const frame: FrameItem = {
      type: 'frame',
      fin: (h[0] & 0x80) !== 0,
      rsv1: (h[0] & 0x40) !== 0,
      rsv2: (h[0] & 0x20) !== 0,
      rsv3: (h[0] & 0x10) !== 0,
      opcode: op,
      opcodeName: OPCODE_NAMES[op],
      masked,
      maskKey: masked && n >= keyAt + 4 ? h.toString('hex', keyAt, keyAt + 4) : null,
      length,
      lengthForm: extended === 0 ? 7 : extended === 2 ? 16 : 64,
      header: h.toString('hex', 0, n),
      payload: '',
    };
    let available = 0;
    let text: string | undefined;
    if (n === full) {
      available = Math.min(chunk.length - pos, length);
      const shown = Math.min(available, this.captureLimit);
      if (shown > 0) {
        const bytes = Buffer.allocUnsafe(shown);
        for (let i = 0; i < shown; i++) bytes[i] = masked ? chunk[pos + i] ^ h[keyAt + (i & 3)] : chunk[pos + i];
        frame.payload = bytes.toString('hex');
        // Text as far as it can be shown (never for compressed data).
        if (op === 0x1 && !frame.rsv1) text = utf8Prefix(bytes);
      } else if (op === 0x1 && !frame.rsv1) {
        text = '';
      }
    }
    if (length > this.captureLimit) frame.truncated = true;
    if (op === 0x8 && available >= 2 && available === length) {
      // A close frame read whole (the fault is elsewhere in it): its code and reason.
      const body = Buffer.from(frame.payload, 'hex');
      if (body.length >= 2) {
        frame.code = (body[0] << 8) | body[1];
        frame.reason = utf8Prefix(body.subarray(2));
      }
    }
    // After code and reason: the decoders' field order, which serialize.ts relies on.
    if (text !== undefined) frame.text = text;
    frame.violating = true;
    if (n < full || available < length) frame.partial = true;
    return frame;
  }
}

const invalidUtf8 = (): WireError => new WireError('WS_ERR_INVALID_UTF8', 'text message is not valid UTF-8');
const incompleteUtf8 = (): WireError => new WireError('WS_ERR_INCOMPLETE_UTF8', 'text message ends inside a UTF-8 sequence');

/** The note of a compressed message that is not inflated (the tap words it for the learner). */
function inflateNote(note: WireNote): InfoItem {
  const detail =
    note === 'INFLATE_INPUT_LIMIT'
      ? `message over ${INFLATE_INPUT_LIMIT} compressed bytes; not inflated`
      : note === 'INFLATE_OUTPUT_LIMIT'
        ? `message inflates beyond ${INFLATE_OUTPUT_LIMIT} bytes; not inflated`
        : 'an earlier message was not inflated, so its context is lost';
  return { type: 'info', note, message: `permessage-deflate: ${detail}` };
}

/** The 64-bit extended length of a header (exact below 2^53; callers reject larger ones first). */
function readLength64(h: Uint8Array): number {
  const high = ((h[2] << 24) | (h[3] << 16) | (h[4] << 8) | h[5]) >>> 0;
  const low = ((h[6] << 24) | (h[7] << 16) | (h[8] << 8) | h[9]) >>> 0;
  return high * 0x100000000 + low;
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
