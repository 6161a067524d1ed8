// Raw loopback client pieces for the stress suite: sockets bound to a chosen 127.x address,
// hand-built client frames, streaming readers for server frames and HTTP responses. No ws or
// socket.io client here: attacks need bytes no well-behaved client would send, and a load
// client that allocates per message would measure itself instead of the server.
import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** WebSocket opcodes (RFC 6455 §5.2). */
export const OP = { cont: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/**
 * A client frame header with the MASK bit set and a zero masking key. A zero key is valid
 * (RFC 6455 §5.3: the key is 32 arbitrary bits) and leaves the payload as is, so a frame can be
 * built once and written many times without XOR work in the load client.
 */
export function frameHeader(opcode: number, length: number | bigint, fin = true, rsv = 0): Buffer {
  const b0 = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  const big = typeof length === 'bigint';
  if (!big && length < 126) return Buffer.from([b0, 0x80 | length, 0, 0, 0, 0]);
  if (!big && length < 0x10000) {
    const h = Buffer.alloc(8);
    h[0] = b0;
    h[1] = 0x80 | 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.alloc(14);
  h[0] = b0;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

/** A whole client frame (zero masking key, see frameHeader). */
export function clientFrame(opcode: number, payload: Buffer | string = Buffer.alloc(0), fin = true, rsv = 0): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([frameHeader(opcode, body.length, fin, rsv), body]);
}

/** A client close frame with a status code. */
export function closeFrame(code = 1000): Buffer {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(code);
  return clientFrame(OP.close, p);
}

/** The sample key of RFC 6455 §1.3 (the server's accept is not checked: only its status). */
export function upgradeHead(path: string, extra = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/**
 * Streaming reader of server frames (unmasked). Data payloads larger than `keep` bytes are
 * counted but not kept (their payload is empty), so a flood of large echoes costs the client no
 * copies; control frames (at most 125 bytes) are always kept, for their close code.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private skip = 0;
  private readonly onFrame: (f: Frame) => void;
  private readonly keep: number;
  bytes = 0;
  frames = 0;

  constructor(onFrame: (f: Frame) => void, keep = 4096) {
    this.onFrame = onFrame;
    this.keep = keep;
  }

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      chunk = chunk.subarray(n);
      if (chunk.length === 0) return;
    }
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b[1] & 0x80) at += 4; // a masked server frame is a server bug; skip its key anyway
      const frame: Frame = { fin: (b[0] & 0x80) !== 0, opcode: b[0] & 0x0f, payload: Buffer.alloc(0) };
      if (len > this.keep && (b[0] & 0x08) === 0) {
        // Count it, skip its payload as it streams in.
        if (b.length < at) return;
        const have = b.length - at;
        this.frames++;
        this.onFrame(frame);
        if (have >= len) {
          this.buf = b.subarray(at + len);
          continue;
        }
        this.skip = len - have;
        this.buf = Buffer.alloc(0);
        return;
      }
      if (b.length < at + len) return;
      frame.payload = b.subarray(at, at + len);
      this.buf = b.subarray(at + len);
      this.frames++;
      this.onFrame(frame);
    }
  }
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Streaming reader of HTTP/1.1 responses on one connection (keep-alive, pipelined): heads,
 * Content-Length and chunked bodies. `bodyless(i)` says which responses have no body (HEAD).
 */
export class ResponseReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly onResponse: (r: HttpResponse) => void;

  constructor(onResponse: (r: HttpResponse) => void) {
    this.onResponse = onResponse;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1');
      const lines = head.split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const c = line.indexOf(':');
        if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
      }
      let at = end + 4;
      let body: Buffer;
      if (status === 101 || status === 204 || status === 304 || (status >= 100 && status < 200)) {
        body = Buffer.alloc(0);
      } else if (headers['transfer-encoding']?.includes('chunked')) {
        const parts: Buffer[] = [];
        for (;;) {
          const eol = this.buf.indexOf('\r\n', at);
          if (eol < 0) return;
          const size = parseInt(this.buf.subarray(at, eol).toString('latin1'), 16);
          if (this.buf.length < eol + 2 + size + 2) return;
          parts.push(this.buf.subarray(eol + 2, eol + 2 + size));
          at = eol + 2 + size + 2;
          if (size === 0) break;
        }
        body = Buffer.concat(parts);
      } else {
        const len = Number(headers['content-length'] ?? 0);
        if (this.buf.length < at + len) return;
        body = this.buf.subarray(at, at + len);
        at += len;
      }
      this.buf = this.buf.subarray(at);
      this.onResponse({ status, headers, body });
      if (status === 101) return; // what follows is WebSocket frames
    }
  }

  /** Bytes received after the last complete response (frames after a 101). */
  rest(): Buffer {
    return this.buf;
  }
}

export interface DialOptions {
  port: number;
  localAddress: string;
  /** Called when the socket is gone (error or close), once. */
  onGone?: () => void;
}

/** A TCP connection to 127.0.0.1 from `localAddress`; errors are swallowed (attacks expect resets). */
export function dial({ port, localAddress }: DialOptions): Socket {
  const socket = connect({ port, host: '127.0.0.1', localAddress, noDelay: true });
  socket.on('error', () => {});
  return socket;
}

export function whenConnected(socket: Socket, ms = 5000): Promise<boolean> {
  if (!socket.connecting) return Promise.resolve(!socket.destroyed);
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), ms);
    function done(ok: boolean) {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('close', onClose);
      resolve(ok);
    }
    const onConnect = () => done(true);
    const onClose = () => done(false);
    socket.once('connect', onConnect);
    socket.once('close', onClose);
  });
}

/** The status of a close frame payload (1005 when it has none). */
export function closeCode(payload: Buffer): number {
  return payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
}
