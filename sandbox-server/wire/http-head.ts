// Streaming HTTP/1.1 message parser for one direction (RFC 9112). Pure: bytes in, items out.
// One state machine: head, then the body framed by Content-Length, chunked coding, or the end of
// the connection. Only the head (≤ HEAD_LIMIT) and the first captureLimit body bytes are kept.
import { PAYLOAD_CAPTURE_LIMIT } from '#protocol';
import type { HttpBodyEvent, HttpEvent, ViolationId } from '#protocol';
import { concat, utf8Prefix, violation } from './common.ts';
import type { ViolationItem } from './common.ts';

/** Largest head accepted (start line + headers + blank line), and largest trailer section. */
export const HEAD_LIMIT = 16 * 1024;
/** Longest chunk-size line (size plus extensions). */
const CHUNK_LINE_LIMIT = 1024;
/** Requests remembered for pairing responses (pipelining depth). */
export const PENDING_LIMIT = 64;

export type HttpItem = Omit<HttpEvent, 'seq' | 't' | 'conn' | 'from'>;
export type HttpBodyItem = Omit<HttpBodyEvent, 'seq' | 't' | 'conn' | 'from'>;

/** What a parsed head says, for the connection decoder (not sent to monitors). */
export interface HeadInfo {
  /** Requests. */
  method?: string;
  target?: string;
  /** Responses. */
  status?: number;
  /** Responses: method of the request it answers (GET when unknown). */
  requestMethod?: string;
  /** Header names in lower case, values trimmed, in wire order. */
  headers: Array<[string, string]>;
}
/** Emitted as soon as a head is parsed, before its `http` item (which may wait for the body). */
export interface HeadItem {
  type: 'head';
  info: HeadInfo;
}
/** Emitted after an upgrade head (request with `Upgrade: websocket`, or a 101): the parser stops. */
export interface UpgradeItem {
  type: 'upgrade';
  /** Bytes after the head in the chunk that completed it: they belong to the new protocol. */
  rest: Uint8Array;
}
export type HttpParserItem = HttpItem | HttpBodyItem | ViolationItem | HeadItem | UpgradeItem;

export function header(info: HeadInfo, name: string): string | undefined {
  const values = info.headers.filter(([n]) => n === name).map(([, v]) => v);
  return values.length > 0 ? values.join(', ') : undefined;
}

/** A request head asking for a WebSocket upgrade (its `Upgrade` header lists `websocket`). */
export function isWebSocketUpgrade(info: HeadInfo): boolean {
  return /(^|,)\s*websocket\s*(,|$)/i.test(header(info, 'upgrade') ?? '');
}

// Parser states.
const HEAD = 0;
const BODY_LENGTH = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_DATA_END = 4;
const TRAILERS = 5;
const BODY_UNTIL_CLOSE = 6;
const UPGRADED = 7;
const FAILED = 8;

const LF = 0x0a;
const CR = 0x0d;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Non-streaming, so one instance serves every head. */
const HEAD_DECODER = new TextDecoder();

/** A violation of RFC 9112 (or of a bound of ours): its rule, with an English detail. */
class HttpError {
  readonly item: ViolationItem;
  constructor(id: ViolationId, detail: string) {
    this.item = violation(id, detail);
  }
}

export class HttpParser {
  private readonly kind: 'request' | 'response';
  private readonly captureLimit: number;
  private state = HEAD;
  /** Methods of requests not answered yet (responses only). */
  private readonly methods: string[] = [];

  // Head (also reused for chunk-size lines and trailers).
  private head: Uint8Array[] = [];
  private headSize = 0;
  private lineLength = 0;
  private lineHasText = false;
  private chunkLine = '';

  // Current message.
  private event: HttpItem | null = null;
  private remaining = 0;
  private wireLength = 0;
  /** Streamed bodies send http-body items instead of holding the body in the http item. */
  private streamed = false;
  private body: Uint8Array[] = [];
  private bodyCaptured = 0;
  private bodyLength = 0;
  private piece: Uint8Array[] = [];
  private pieceCaptured = 0;
  private pieceLength = 0;
  /** Streaming decoder of a streamed body (SSE…), created when one is seen. */
  private pieceDecoderInstance: TextDecoder | null = null;
  private get pieceDecoder(): TextDecoder {
    return (this.pieceDecoderInstance ??= new TextDecoder());
  }
  private set pieceDecoder(decoder: TextDecoder | null) {
    this.pieceDecoderInstance = decoder;
  }

  constructor(opts: { kind: 'request' | 'response'; captureLimit?: number }) {
    this.kind = opts.kind;
    this.captureLimit = Math.max(0, opts.captureLimit ?? PAYLOAD_CAPTURE_LIMIT);
  }

  /** Responses only: a request with this method was sent (pairs responses in order). */
  expect(method: string): void {
    if (this.methods.length >= PENDING_LIMIT) this.methods.shift();
    this.methods.push(method);
  }

  get failed(): boolean {
    return this.state === FAILED;
  }

  push(chunk: Uint8Array): HttpParserItem[] {
    const out: HttpParserItem[] = [];
    let pos = 0;
    try {
      while (pos < chunk.length && this.state !== FAILED && this.state !== UPGRADED) {
        pos = this.step(chunk, pos, out);
      }
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      this.state = FAILED;
      out.push(err.item);
    }
    this.flushPiece(out);
    return out;
  }

  /** Runs the current state on chunk[pos…]; returns the new position. */
  private step(chunk: Uint8Array, pos: number, out: HttpParserItem[]): number {
    switch (this.state) {
      case HEAD:
      case TRAILERS:
        return this.readHead(chunk, pos, out);
      case BODY_LENGTH:
      case CHUNK_DATA:
      case BODY_UNTIL_CLOSE: {
        const n = this.state === BODY_UNTIL_CLOSE ? chunk.length - pos : Math.min(this.remaining, chunk.length - pos);
        this.bodyBytes(chunk.subarray(pos, pos + n));
        this.wireLength += n;
        if (this.state === BODY_UNTIL_CLOSE) return pos + n;
        this.remaining -= n;
        if (this.remaining === 0) {
          if (this.state === BODY_LENGTH) this.endMessage(out);
          else this.state = CHUNK_DATA_END;
        }
        return pos + n;
      }
      case CHUNK_SIZE:
        return this.readChunkSize(chunk, pos);
      case CHUNK_DATA_END: {
        const b = chunk[pos];
        this.wireLength++;
        if (b === LF) this.state = CHUNK_SIZE;
        else if (b !== CR) throw new HttpError('HTTP_ERR_CHUNK_DATA_END', 'chunk data not followed by CRLF');
        return pos + 1;
      }
    }
    return chunk.length;
  }

  /** Collects head bytes until an empty line; trailers (after the last chunk) are only counted. */
  private readHead(chunk: Uint8Array, pos: number, out: HttpParserItem[]): number {
    const trailers = this.state === TRAILERS;
    const start = pos;
    for (; pos < chunk.length; pos++) {
      const b = chunk[pos];
      if (b === LF) {
        if (this.lineLength === 0) {
          if (!trailers && !this.lineHasText) continue; // blank lines before a head are ignored (RFC 9112 §2.2)
          const end = pos + 1;
          if (trailers) {
            this.wireLength += end - start;
            this.endMessage(out);
            return end;
          }
          this.addHead(chunk.subarray(start, end));
          return this.onHead(chunk, end, out);
        }
        this.lineLength = 0;
      } else if (b !== CR) {
        this.lineLength++;
        this.lineHasText = true;
      }
      if (this.headSize + (pos - start) >= HEAD_LIMIT) {
        if (trailers) throw new HttpError('HTTP_ERR_TRAILERS_TOO_LARGE', `HTTP trailer section larger than ${HEAD_LIMIT} bytes`);
        throw new HttpError('HTTP_ERR_HEAD_TOO_LARGE', `HTTP head larger than ${HEAD_LIMIT} bytes`);
      }
    }
    if (trailers) {
      this.wireLength += pos - start;
      this.headSize += pos - start;
    } else {
      this.addHead(chunk.subarray(start, pos));
    }
    return pos;
  }

  private addHead(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    // Keep only the head's bytes, leading blank lines excluded.
    let skip = 0;
    if (this.headSize === 0) while (skip < bytes.length && (bytes[skip] === CR || bytes[skip] === LF)) skip++;
    if (skip < bytes.length) {
      this.head.push(bytes.slice(skip));
      this.headSize += bytes.length - skip;
    }
  }

  /** A complete head: parse it, choose the body framing. */
  private onHead(chunk: Uint8Array, pos: number, out: HttpParserItem[]): number {
    const raw = concat(this.head, this.headSize);
    const headLength = this.headSize;
    this.head = [];
    this.headSize = 0;
    this.lineLength = 0;
    this.lineHasText = false;
    const text = HEAD_DECODER.decode(raw).replace(/\r?\n\r?\n$/, '');
    const info = this.parseHead(text);
    out.push({ type: 'head', info });
    this.event = { type: 'http', head: text, headLength };
    this.wireLength = 0;
    this.body = [];
    this.bodyCaptured = 0;
    this.bodyLength = 0;
    this.streamed = false;

    if (this.kind === 'response' && info.status === 101) return this.upgrade(chunk, pos, out);
    const te = header(info, 'transfer-encoding');
    const cl = header(info, 'content-length');
    let framing: 'none' | 'length' | 'chunked' | 'close';
    if (
      this.kind === 'response' &&
      (info.requestMethod === 'HEAD' || (info.status as number) < 200 || info.status === 204 || info.status === 304)
    ) {
      framing = 'none';
    } else if (te !== undefined) {
      const last = te.split(',').pop()?.trim().toLowerCase();
      if (last === 'chunked') framing = 'chunked';
      else if (this.kind === 'request')
        throw new HttpError('HTTP_ERR_TRANSFER_ENCODING', `request Transfer-Encoding "${te}" does not end with chunked`);
      else framing = 'close';
    } else if (cl !== undefined) {
      const values = new Set(cl.split(',').map((v) => v.trim()));
      const value = [...values][0];
      if (values.size !== 1 || !/^\d{1,15}$/.test(value)) throw new HttpError('HTTP_ERR_CONTENT_LENGTH', `invalid Content-Length "${cl}"`);
      framing = 'length';
      this.remaining = Number(value);
    } else {
      framing = this.kind === 'response' ? 'close' : 'none';
    }
    if (this.kind === 'request' && isWebSocketUpgrade(info)) return this.upgrade(chunk, pos, out);

    const eventStream = /^\s*text\/event-stream/i.test(header(info, 'content-type') ?? '');
    if (framing === 'none' || (framing === 'length' && this.remaining === 0)) {
      if (framing === 'length') {
        this.event.body = '';
        this.event.bodyLength = 0;
      }
      this.endMessage(out);
      return pos;
    }
    if (framing === 'close' || eventStream) {
      // Streamed: the head goes out now, the body follows as http-body items.
      this.streamed = true;
      out.push(this.event);
    }
    this.state = framing === 'length' ? BODY_LENGTH : framing === 'chunked' ? CHUNK_SIZE : BODY_UNTIL_CLOSE;
    this.chunkLine = '';
    return pos;
  }

  private upgrade(chunk: Uint8Array, pos: number, out: HttpParserItem[]): number {
    out.push(this.event as HttpItem);
    this.event = null;
    this.state = UPGRADED;
    out.push({ type: 'upgrade', rest: chunk.subarray(pos) });
    return chunk.length;
  }

  private parseHead(text: string): HeadInfo {
    const lines = text.split(/\r?\n/);
    const start = lines[0];
    const info: HeadInfo = { headers: [] };
    if (this.kind === 'request') {
      const m = /^(\S+) (\S+) HTTP\/(\d)\.(\d)$/.exec(start);
      if (!m || !TOKEN.test(m[1])) throw new HttpError('HTTP_ERR_REQUEST_LINE', `malformed request line "${start.slice(0, 200)}"`);
      info.method = m[1];
      info.target = m[2];
    } else {
      const m = /^HTTP\/(\d)\.(\d) (\d{3})(?: .*)?$/.exec(start);
      if (!m) throw new HttpError('HTTP_ERR_STATUS_LINE', `malformed status line "${start.slice(0, 200)}"`);
      info.status = Number(m[3]);
      // 1xx responses are interim: the final response answers the same request.
      const final = info.status >= 200 || info.status === 101;
      info.requestMethod = (final ? this.methods.shift() : this.methods[0]) ?? 'GET';
    }
    for (const line of lines.slice(1)) {
      if ((line.startsWith(' ') || line.startsWith('\t')) && info.headers.length > 0) {
        // Obsolete line folding: part of the previous value.
        info.headers[info.headers.length - 1][1] += ' ' + line.trim();
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0 || !TOKEN.test(line.slice(0, colon)))
        throw new HttpError('HTTP_ERR_HEADER_LINE', `malformed header line "${line.slice(0, 200)}"`);
      info.headers.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
    }
    return info;
  }

  private readChunkSize(chunk: Uint8Array, pos: number): number {
    for (; pos < chunk.length; pos++) {
      const b = chunk[pos];
      this.wireLength++;
      if (b !== LF) {
        if (b !== CR) this.chunkLine += String.fromCharCode(b);
        if (this.chunkLine.length > CHUNK_LINE_LIMIT)
          throw new HttpError('HTTP_ERR_CHUNK_LINE_TOO_LONG', `chunk-size line longer than ${CHUNK_LINE_LIMIT} bytes`);
        continue;
      }
      const size = this.chunkLine.split(';')[0].trim();
      this.chunkLine = '';
      if (!/^[0-9a-fA-F]{1,13}$/.test(size)) throw new HttpError('HTTP_ERR_CHUNK_SIZE', `invalid chunk size "${size.slice(0, 40)}"`);
      this.remaining = parseInt(size, 16);
      this.state = this.remaining === 0 ? TRAILERS : CHUNK_DATA;
      this.headSize = 0;
      this.lineLength = 0;
      return pos + 1;
    }
    return pos;
  }

  /** Body content bytes (de-chunked): capture a prefix, count the rest. */
  private bodyBytes(bytes: Uint8Array): void {
    if (this.streamed) {
      const room = this.captureLimit - this.pieceCaptured;
      if (room > 0) {
        const keep = bytes.subarray(0, Math.min(room, bytes.length));
        this.piece.push(keep.slice());
        this.pieceCaptured += keep.length;
      }
      this.pieceLength += bytes.length;
      return;
    }
    this.bodyLength += bytes.length;
    const room = this.captureLimit - this.bodyCaptured;
    if (room > 0) {
      const keep = bytes.subarray(0, Math.min(room, bytes.length));
      this.body.push(keep.slice());
      this.bodyCaptured += keep.length;
    }
  }

  /** Sends what a streamed body received in this push as one http-body item. */
  private flushPiece(out: HttpParserItem[]): void {
    if (this.pieceLength === 0) return;
    const bytes = concat(this.piece, this.pieceCaptured);
    const item: HttpBodyItem = { type: 'http-body', text: '', length: this.pieceLength };
    if (this.pieceLength > this.pieceCaptured) {
      // Cut: the decoder's carried state no longer matches the next bytes, start afresh.
      item.text = utf8Prefix(bytes);
      item.truncated = true;
      this.pieceDecoder = null;
    } else {
      item.text = this.pieceDecoder.decode(bytes, { stream: true });
    }
    out.push(item);
    this.piece = [];
    this.pieceCaptured = 0;
    this.pieceLength = 0;
  }

  private endMessage(out: HttpParserItem[]): void {
    const event = this.event as HttpItem;
    if (this.streamed) {
      this.flushPiece(out);
      this.pieceDecoder = null;
    } else if (this.state !== HEAD) {
      event.body = utf8Prefix(concat(this.body, this.bodyCaptured));
      event.bodyLength = this.wireLength;
      if (this.bodyLength > this.captureLimit) event.truncated = true;
      out.push(event);
    } else {
      out.push(event);
    }
    this.event = null;
    this.body = [];
    this.state = HEAD;
    this.headSize = 0;
    this.lineLength = 0;
    this.lineHasText = false;
  }
}
