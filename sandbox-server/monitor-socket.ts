// The server end of a monitor WebSocket (/api/sessions/<id>/monitor), written for what a monitor
// is: the server sends text frames; the client only closes, pings and pongs (a message closes
// the connection with 1003). A ws WebSocket per
// monitor (receiver stream, sender queue, extension state) kept about 1 KiB more heap per monitor,
// half a KiB per learner connection with two clients per session.
// RFC 6455: opening handshake §4.2.1–4.2.2, framing §5.2, masking §5.3, control frames §5.5,
// closing §5.5.1 and §7, close codes §7.4.
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isValidCloseCode } from './wire/frame-decoder.ts';

const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
/** After our close frame, how long the client has to answer with its own before the TCP close. */
const CLOSE_TIMEOUT_MS = 2000;
/** A monitor client sends control frames only: 125 bytes of payload at most (§5.5.1). */
const MAX_PAYLOAD = 125;

/** Why an upgrade to a monitor was refused (the caller answers with it). */
export interface HandshakeRefusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/** A WebSocket text frame (FIN, opcode 1, unmasked as a server's frames are). */
export function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  return frame(0x1, payload);
}

/**
 * Writes the header of an unmasked final frame with a `len`-byte payload at `at` (the shortest
 * length form, §5.2); returns the header's size (2, 4 or 10).
 */
export function writeFrameHeader(buf: Buffer, at: number, opcode: number, len: number): number {
  buf[at] = 0x80 | opcode;
  if (len < 126) {
    buf[at + 1] = len;
    return 2;
  }
  if (len < 0x10000) {
    buf[at + 1] = 126;
    buf.writeUInt16BE(len, at + 2);
    return 4;
  }
  buf[at + 1] = 127;
  buf.writeUInt32BE(Math.floor(len / 0x100000000), at + 2);
  buf.writeUInt32BE(len >>> 0, at + 6);
  return 10;
}

function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const out = Buffer.allocUnsafe((len < 126 ? 2 : len < 0x10000 ? 4 : 10) + len);
  payload.copy(out, writeFrameHeader(out, 0, opcode, len));
  return out;
}

function closeFrame(code: number | null, reason: string): Buffer {
  if (code === null) return frame(0x8, Buffer.alloc(0));
  // The reason is cut to what fits a control frame (123 bytes after the code).
  let text = Buffer.from(reason);
  if (text.length > MAX_PAYLOAD - 2) text = text.subarray(0, MAX_PAYLOAD - 2);
  while (text.length > 0 && !isUtf8(text)) text = text.subarray(0, text.length - 1);
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return frame(0x8, payload);
}

const MONITOR = Symbol('monitorSocket');
type Carrier = Socket & { [MONITOR]?: MonitorSocket };

/**
 * Completes the opening handshake of a monitor (the request is already routed and admitted).
 * Returns the open MonitorSocket, or what to answer when the request is not a valid WebSocket
 * opening handshake.
 */
export function acceptMonitor(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  onClose: (m: MonitorSocket) => void,
): MonitorSocket | HandshakeRefusal {
  const key = req.headers['sec-websocket-key'];
  if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
    return { status: 400, message: 'Requête d’ouverture WebSocket attendue (GET avec Upgrade: websocket).' };
  }
  if (req.headers['sec-websocket-version'] !== '13') {
    return { status: 400, message: 'Version WebSocket non prise en charge (13 attendue).', headers: { 'Sec-WebSocket-Version': '13' } };
  }
  if (typeof key !== 'string' || !/^[+/0-9A-Za-z]{22}==$/.test(key.trim())) {
    return { status: 400, message: 'En-tête Sec-WebSocket-Key invalide.' };
  }
  const accept = createHash('sha1')
    .update(key.trim() + ACCEPT_GUID)
    .digest('base64');
  // No subprotocol or extension is selected: the monitor offers none.
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  const monitor = new MonitorSocket(socket as Socket, onClose);
  if (head.length > 0) monitor.receive(head);
  return monitor;
}

export class MonitorSocket {
  readyState = OPEN;
  private readonly socket: Socket;
  private readonly onClose: (m: MonitorSocket) => void;
  /** Bytes of an incomplete inbound frame (at most one header and 125 bytes). */
  private pending: Buffer | null = null;
  private closeTimer: NodeJS.Timeout | null = null;

  constructor(socket: Socket, onClose: (m: MonitorSocket) => void) {
    this.socket = socket;
    this.onClose = onClose;
    (socket as Carrier)[MONITOR] = this;
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  get CLOSED(): number {
    return CLOSED;
  }

  /** Bytes written but not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  send(text: string): void {
    if (this.readyState === OPEN) this.socket.write(textFrame(text));
  }

  /** Writes bytes already framed as server text frames (SessionMonitor batches them). */
  writeFramed(bytes: Buffer): void {
    if (this.readyState === OPEN) this.socket.write(bytes);
  }

  /** Starts the closing handshake: our close frame, then the TCP close once the client answers. */
  close(code: number, reason = ''): void {
    if (this.readyState !== OPEN) return;
    this.readyState = CLOSING;
    this.socket.write(closeFrame(code, reason));
    this.closeTimer = setTimeout(destroySocket, CLOSE_TIMEOUT_MS, this.socket);
  }

  terminate(): void {
    this.socket.destroy();
  }

  /** Inbound bytes: control frames are answered; data frames and violations close the connection. */
  receive(chunk: Buffer): void {
    let p = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    while (p.length >= 2 && this.readyState !== CLOSED) {
      const fin = (p[0] & 0x80) !== 0;
      const opcode = p[0] & 0x0f;
      const len = p[1] & 0x7f;
      if ((p[0] & 0x70) !== 0) {
        this.fail(1002, 'bits RSV sans extension négociée');
        return;
      }
      if ((p[1] & 0x80) === 0) {
        this.fail(1002, 'trame du client non masquée');
        return;
      }
      if ((opcode > 0x2 && opcode < 0x8) || opcode > 0xa) {
        this.fail(1002, `opcode réservé ${opcode}`);
        return;
      }
      if (opcode >= 0x8 && (!fin || len > MAX_PAYLOAD)) {
        this.fail(1002, 'trame de contrôle fragmentée ou trop longue');
        return;
      }
      // A monitor takes no messages: data it cannot accept (§7.4.1, 1003).
      if (opcode < 0x8) {
        this.fail(1003, 'le moniteur n’accepte pas de messages');
        return;
      }
      if (p.length < 6 + len) break;
      const payload = Buffer.from(p.subarray(6, 6 + len));
      for (let i = 0; i < len; i++) payload[i] ^= p[2 + (i & 3)];
      p = p.subarray(6 + len);
      if (opcode === 0x8) this.onCloseFrame(payload);
      else if (opcode === 0x9 && this.readyState === OPEN) this.socket.write(frame(0xa, payload));
      // Pongs need no answer.
    }
    if (p.length > 0 && this.readyState !== CLOSED) this.pending = Buffer.from(p);
  }

  private onCloseFrame(payload: Buffer): void {
    let code: number | null = null;
    if (payload.length === 1) {
      this.fail(1002, 'trame de fermeture d’un octet');
      return;
    }
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      if (!isValidCloseCode(code)) {
        this.fail(1002, `code de fermeture invalide ${code}`);
        return;
      }
      if (!isUtf8(payload.subarray(2))) {
        this.fail(1007, 'raison de fermeture en UTF-8 invalide');
        return;
      }
    }
    // Echo the close (§5.5.1) unless ours went first, then close TCP: the server closes first (§7.1.1).
    if (this.readyState === OPEN) this.socket.write(closeFrame(code, ''));
    this.readyState = CLOSING;
    this.socket.end();
    this.closeTimer ??= setTimeout(destroySocket, CLOSE_TIMEOUT_MS, this.socket);
  }

  private fail(code: number, reason: string): void {
    if (this.readyState === OPEN) this.socket.write(closeFrame(code, reason));
    this.readyState = CLOSING;
    this.pending = null;
    this.socket.end();
    this.closeTimer ??= setTimeout(destroySocket, CLOSE_TIMEOUT_MS, this.socket);
  }

  /** The client sent its FIN: nothing more may be written. */
  ended(): void {
    if (this.readyState === OPEN) this.readyState = CLOSING;
    this.pending = null;
  }

  /** The TCP connection is gone. */
  closed(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.pending = null;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.onClose(this);
  }
}

// Shared socket listeners (`this` is the socket): nothing made per monitor.
function onSocketData(this: Carrier, chunk: Buffer): void {
  this[MONITOR]?.receive(chunk);
}
/** The client closed its side (HTTP server sockets allow half-open connections): close ours. */
function onSocketEnd(this: Carrier): void {
  this[MONITOR]?.ended();
  this.end();
}
function onSocketError(this: Carrier): void {
  this.destroy();
}
function onSocketClose(this: Carrier): void {
  this[MONITOR]?.closed();
}
function destroySocket(socket: Socket): void {
  socket.destroy();
}
