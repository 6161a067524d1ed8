// Recorded-shape monitor events used by the unit tests (constructed from protocol.ts).
import type { MonitorEvent } from '#protocol';

export const ECHO_RUN: MonitorEvent[] = [
  { seq: 1, t: 0, type: 'hello', session: 's1', endpoints: { http: 'http://h/s/s1/', ws: 'ws://h/s/s1/', socketIoPath: '/s/s1/socket.io/' }, scenarios: ['echo'] },
  { seq: 2, t: 1, type: 'conn-open', conn: 'c1', client: 'A', remote: '127.0.0.1:5000', path: 'echo' },
  {
    seq: 3, t: 1, type: 'http', conn: 'c1', from: 'client',
    head: 'GET /s/s1/echo?client=A HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade', headLength: 90,
  },
  { seq: 4, t: 1, type: 'http', conn: 'c1', from: 'server', head: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket', headLength: 60 },
  {
    seq: 5, t: 2, type: 'frame', conn: 'c1', from: 'client', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1,
    opcodeName: 'text', masked: true, maskKey: '37fa213d', length: 5, lengthForm: 7, header: '818537fa213d',
    payload: '48656c6c6f', text: 'Hello',
  },
  {
    seq: 6, t: 2, type: 'frame', conn: 'c1', from: 'server', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1,
    opcodeName: 'text', masked: false, maskKey: null, length: 5, lengthForm: 7, header: '8105', payload: '48656c6c6f', text: 'Hello',
  },
  { seq: 7, t: 2, type: 'message', conn: 'c1', from: 'server', opcode: 1, length: 5, frames: 1, compressed: false, text: 'Hello' },
  {
    seq: 8, t: 3, type: 'frame', conn: 'c1', from: 'client', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 8,
    opcodeName: 'close', masked: true, maskKey: '00000000', length: 2, lengthForm: 7, header: '888200000000', payload: '03e8', code: 1000, reason: '',
  },
  { seq: 9, t: 3, type: 'conn-open', conn: 'c2', client: 'B', remote: '127.0.0.1:5001', path: 'socket.io/' },
  {
    seq: 10, t: 4, type: 'eio', conn: 'c2', from: 'client', transport: 'websocket', packet: 'message', data: '42["say",{"room":"r","text":"hi"}]',
    sio: { type: 2, typeName: 'EVENT', nsp: '/', event: 'say', data: ['say', { room: 'r', text: 'hi' }] },
  },
  { seq: 11, t: 5, type: 'conn-close', conn: 'c1', reason: 'end', bytesIn: 120, bytesOut: 80 },
];
