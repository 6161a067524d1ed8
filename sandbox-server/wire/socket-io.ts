// Socket.IO v5 packets (socket.io-protocol v5, as socket.io-parser 4.x reads them), carried in
// Engine.IO "message" packets. Format: type digit, then for binary types "<attachments>-", then an
// optional namespace "/nsp," (default "/"), an optional ack id (digits), and optional JSON data.
// A BINARY_EVENT / BINARY_ACK is followed by its attachments as separate binary Engine.IO packets.
import type { SioPacket } from '#protocol';
import { violation } from './common.ts';
import type { ViolationItem } from './common.ts';
import type { EioItem, EioResult } from './engine-io.ts';

export const SIO_TYPE_NAMES = ['CONNECT', 'DISCONNECT', 'EVENT', 'ACK', 'CONNECT_ERROR', 'BINARY_EVENT', 'BINARY_ACK'] as const;
const CONNECT = 0;
const DISCONNECT = 1;
const EVENT = 2;
const ACK = 3;
const CONNECT_ERROR = 4;
const BINARY_EVENT = 5;
const BINARY_ACK = 6;
/** Event names the JavaScript implementation refuses to receive. */
const RESERVED_EVENTS = ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'];
/** Same bound as socket.io-parser's default maxAttachments. */
const MAX_ATTACHMENTS = 10;

/**
 * One Socket.IO packet from the data of an Engine.IO message packet.
 * `truncated`: the text was cut by the capture limit, so its JSON is not parsed (data left out).
 */
export function decodeSioPacket(text: string, opts: { truncated?: boolean } = {}): SioPacket | ViolationItem {
  const type = text.length > 0 ? text.charCodeAt(0) - 0x30 : -1;
  if (type < 0 || type > 6) return violation('SIO_ERR_UNKNOWN_PACKET_TYPE', `unknown Socket.IO packet type "${text.slice(0, 1)}"`);
  const packet: SioPacket = { type, typeName: SIO_TYPE_NAMES[type], nsp: '/' };
  let i = 1;
  if (type === BINARY_EVENT || type === BINARY_ACK) {
    const dash = text.indexOf('-', i);
    const n = dash < 0 ? NaN : Number(text.slice(i, dash));
    if (dash <= i || !/^\d+$/.test(text.slice(i, dash)) || n < 1)
      return violation('SIO_ERR_ATTACHMENT_COUNT', 'Socket.IO binary packet without a valid attachment count');
    if (n > MAX_ATTACHMENTS)
      return violation('SIO_ERR_TOO_MANY_ATTACHMENTS', `Socket.IO packet announces ${n} attachments (more than ${MAX_ATTACHMENTS})`);
    packet.attachments = n;
    i = dash + 1;
  }
  if (text[i] === '/') {
    const comma = text.indexOf(',', i);
    const end = comma < 0 ? text.length : comma;
    packet.nsp = text.slice(i, end);
    i = comma < 0 ? end : end + 1;
  }
  const id = /^\d+/.exec(text.slice(i));
  if (id) {
    packet.id = Number(id[0]);
    i += id[0].length;
  }
  if (i < text.length && !opts.truncated) {
    let data: unknown;
    try {
      data = JSON.parse(text.slice(i));
    } catch {
      return violation('SIO_ERR_INVALID_JSON', 'Socket.IO packet data is not valid JSON');
    }
    if (!payloadValid(type, data)) return violation('SIO_ERR_INVALID_PAYLOAD', `invalid payload for a ${SIO_TYPE_NAMES[type]} packet`);
    packet.data = data;
    if ((type === EVENT || type === BINARY_EVENT) && Array.isArray(data)) packet.event = String(data[0]);
  } else if (i < text.length) {
    // Truncated: still name the event when its name made it into the capture.
    const m = /^\["((?:[^"\\]|\\.)*)"/.exec(text.slice(i));
    if (m && (type === EVENT || type === BINARY_EVENT)) packet.event = JSON.parse(`"${m[1]}"`) as string;
  }
  return packet;
}

function payloadValid(type: number, data: unknown): boolean {
  const isObject = typeof data === 'object' && data !== null && !Array.isArray(data);
  switch (type) {
    case CONNECT:
      return isObject;
    case DISCONNECT:
      return false;
    case CONNECT_ERROR:
      return typeof data === 'string' || isObject;
    case EVENT:
    case BINARY_EVENT:
      return Array.isArray(data) && (typeof data[0] === 'number' || (typeof data[0] === 'string' && !RESERVED_EVENTS.includes(data[0])));
    case ACK:
    case BINARY_ACK:
      return Array.isArray(data);
  }
  return false;
}

/**
 * Socket.IO over one direction of an Engine.IO stream: attaches the Socket.IO packet to each
 * text message packet and counts binary packets as attachments of the pending binary packet.
 */
export class SocketIoStream {
  private pending = 0;
  private announced = 0;

  /** Takes one Engine.IO item; returns it (with `sio` or `attachment`) and any violation. */
  feed(item: EioResult, opts: { truncated?: boolean } = {}): EioResult[] {
    if (item.type !== 'eio' || item.packet !== 'message') return [item];
    const eio: EioItem = item;
    if (eio.binary) {
      if (this.pending === 0)
        return [eio, violation('SIO_ERR_UNEXPECTED_ATTACHMENT', 'binary packet without a Socket.IO packet awaiting attachments')];
      eio.attachment = { num: this.announced - this.pending, of: this.announced };
      this.pending--;
      return [eio];
    }
    const out: EioResult[] = [];
    if (this.pending > 0) {
      out.push(violation('SIO_ERR_MISSING_ATTACHMENTS', `text packet while ${this.pending} binary attachment(s) were still expected`));
      this.pending = 0;
    }
    const sio = decodeSioPacket(eio.data ?? '', opts);
    if (sio.type === 'violation') {
      out.unshift(eio);
      out.push(sio);
      return out;
    }
    eio.sio = sio;
    if (sio.attachments) {
      this.pending = sio.attachments;
      this.announced = sio.attachments;
    }
    out.unshift(eio);
    return out;
  }
}
