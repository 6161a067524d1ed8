import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodePacket, encodePayload } from 'engine.io-parser';
import type { Packet, PacketType } from 'engine.io-parser';
import { Decoder, Encoder, PacketType as SioType } from 'socket.io-parser';
import { decodeEioBinary, decodeEioPacket, decodeEioPayload, EIO_PACKET_TYPES } from './engine-io.ts';
import type { EioResult } from './engine-io.ts';
import { decodeSioPacket, SocketIoStream } from './socket-io.ts';
import { toHex } from './test-util.ts';

const encodeText = (p: Packet) => new Promise<string>((resolve) => encodePacket(p, false, (s) => resolve(s as string)));
const encodeAll = (ps: Packet[]) => new Promise<string>((resolve) => encodePayload(ps, resolve));

const packetArb: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({
    type: fc.constantFrom(...(EIO_PACKET_TYPES.filter((t) => t !== 'open') as PacketType[])),
    data: fc.option(fc.string({ unit: 'grapheme', minLength: 1 }), { nil: undefined }),
  }),
  fc.uint8Array({ maxLength: 40 }).map((b) => ({ type: 'message' as PacketType, data: Buffer.from(b) })),
);

describe('Engine.IO v4 packets (real encodings from engine.io-parser)', () => {
  it('each packet type, and the open packet session id', async () => {
    for (const type of EIO_PACKET_TYPES) {
      const data = type === 'open' ? '{"sid":"abc","upgrades":["websocket"],"pingInterval":25000}' : 'probe';
      const item = decodeEioPacket(await encodeText({ type, data }));
      expect(item).toMatchObject({ type: 'eio', packet: type, data });
      if (type === 'open') expect(item).toMatchObject({ sid: 'abc' });
    }
    expect(decodeEioPacket('6')).toEqual({ type: 'eio', packet: 'noop' });
  });

  it('property: a polling payload decodes to the packets it was made of', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(packetArb, { minLength: 1, maxLength: 6 }), async (packets) => {
        const items = decodeEioPayload(await encodeAll(packets));
        expect(items).toHaveLength(packets.length);
        items.forEach((item, i) => {
          const p = packets[i];
          if (Buffer.isBuffer(p.data)) expect(item).toEqual({ type: 'eio', packet: 'message', binary: true, data: toHex(p.data) });
          else expect(item).toEqual({ type: 'eio', packet: p.type, ...(p.data !== undefined ? { data: p.data } : {}) });
        });
      }),
    );
  });

  it('a truncated payload drops its incomplete last record instead of reporting it', () => {
    expect(decodeEioPayload('4hello\x1e4{"cut', { truncated: true })).toEqual([{ type: 'eio', packet: 'message', data: 'hello' }]);
  });

  it('a WebSocket binary message is a binary message packet, cut at the capture limit', () => {
    expect(decodeEioBinary(Uint8Array.of(1, 2, 3), 2)).toEqual({ type: 'eio', packet: 'message', binary: true, data: '0102' });
  });

  it.each([
    ['', 'EIO_ERR_EMPTY_PACKET'],
    ['7', 'EIO_ERR_UNKNOWN_PACKET_TYPE'],
    ['x', 'EIO_ERR_UNKNOWN_PACKET_TYPE'],
    ['b%%%', 'EIO_ERR_INVALID_BASE64'],
    ['bA', 'EIO_ERR_INVALID_BASE64'],
    ['0{not json', 'EIO_ERR_OPEN_NOT_JSON'],
  ] as const)('malformed packet %j → %s', (text, id) => {
    expect(decodeEioPacket(text)).toEqual({ type: 'violation', id, code: 1002, message: expect.any(String) });
  });
});

const sioArb = fc
  .record({
    type: fc.constantFrom(SioType.EVENT, SioType.ACK, SioType.CONNECT, SioType.DISCONNECT, SioType.CONNECT_ERROR),
    nsp: fc.constantFrom('/', '/admin', '/chat-1'),
    id: fc.option(fc.nat(100000), { nil: undefined }),
    event: fc
      .string({ minLength: 1, maxLength: 10 })
      .filter((s) => !['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'].includes(s)),
    args: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  })
  .map(({ type, nsp, id, event, args }) => {
    const data =
      type === SioType.EVENT
        ? [event, ...args]
        : type === SioType.ACK
          ? args
          : type === SioType.CONNECT
            ? { token: event }
            : type === SioType.CONNECT_ERROR
              ? { message: event }
              : undefined;
    const withId = type === SioType.EVENT || type === SioType.ACK;
    return { type, nsp, ...(withId && id !== undefined ? { id } : {}), ...(data !== undefined ? { data } : {}) };
  });

/** socket.io-parser's own reading of a text packet: the reference. */
function reference(text: string): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  const d = new Decoder();
  d.on('decoded', (p) => (out = p as unknown as Record<string, unknown>));
  d.add(text);
  return out;
}

describe('Socket.IO v5 packets (real encodings from socket.io-parser)', () => {
  it('property: text packets decode like socket.io-parser decodes them', () => {
    fc.assert(
      fc.property(sioArb, (packet) => {
        const [text] = new Encoder().encode(packet) as string[];
        const ref = reference(text);
        const got = decodeSioPacket(text);
        const expected = Object.fromEntries(
          Object.entries({ type: ref.type, nsp: ref.nsp, id: ref.id, data: ref.data }).filter(([, v]) => v !== undefined),
        );
        expect(got).toMatchObject(expected);
        expect('id' in got).toBe(ref.id !== undefined);
        if (packet.type === SioType.EVENT) expect(got).toMatchObject({ typeName: 'EVENT', event: (packet.data as string[])[0] });
      }),
    );
  });

  it('binary events: attachments are counted against the pending packet', () => {
    const encoded = new Encoder().encode({
      type: SioType.EVENT,
      nsp: '/admin',
      id: 7,
      data: ['photo', Buffer.from([1, 2]), { thumb: Buffer.from([3]) }],
    });
    expect(encoded).toHaveLength(3);
    const stream = new SocketIoStream();
    const items: EioResult[] = [];
    items.push(...stream.feed({ type: 'eio', packet: 'message', data: encoded[0] as string }));
    for (const b of encoded.slice(1)) items.push(...stream.feed(decodeEioBinary(b as Buffer)));
    expect(items[0]).toMatchObject({
      sio: {
        type: 5,
        typeName: 'BINARY_EVENT',
        nsp: '/admin',
        id: 7,
        attachments: 2,
        event: 'photo',
        data: ['photo', { _placeholder: true, num: 0 }, { thumb: { _placeholder: true, num: 1 } }],
      },
    });
    expect(items.slice(1)).toEqual([
      { type: 'eio', packet: 'message', binary: true, data: '0102', attachment: { num: 0, of: 2 } },
      { type: 'eio', packet: 'message', binary: true, data: '03', attachment: { num: 1, of: 2 } },
    ]);
    // One attachment too many.
    const extra = stream.feed(decodeEioBinary(Uint8Array.of(9)));
    expect(extra.map((i) => i.type)).toEqual(['eio', 'violation']);
    expect(extra[1]).toMatchObject({ id: 'SIO_ERR_UNEXPECTED_ATTACHMENT', code: 1002 });
  });

  it('a text packet while attachments are pending is a violation', () => {
    const stream = new SocketIoStream();
    stream.feed({ type: 'eio', packet: 'message', data: '51-["a",{"_placeholder":true,"num":0}]' });
    const items = stream.feed({ type: 'eio', packet: 'message', data: '2["b"]' });
    expect(items.map((i) => i.type)).toEqual(['eio', 'violation']);
    expect(items[0]).toMatchObject({ sio: { event: 'b' } });
    expect(items[1]).toMatchObject({ id: 'SIO_ERR_MISSING_ATTACHMENTS', code: 1002 });
  });

  it('a truncated packet keeps its header and event name without parsing the data', () => {
    expect(decodeSioPacket('2/chat,12["message","long te', { truncated: true })).toEqual({
      type: 2,
      typeName: 'EVENT',
      nsp: '/chat',
      id: 12,
      event: 'message',
    });
  });

  it.each([
    ['', 'SIO_ERR_UNKNOWN_PACKET_TYPE'],
    ['9', 'SIO_ERR_UNKNOWN_PACKET_TYPE'],
    ['5-["a"]', 'SIO_ERR_ATTACHMENT_COUNT'],
    ['5x-["a"]', 'SIO_ERR_ATTACHMENT_COUNT'],
    ['50-["a"]', 'SIO_ERR_ATTACHMENT_COUNT'],
    ['511-["a"]', 'SIO_ERR_TOO_MANY_ATTACHMENTS'],
    ['2["connect"]', 'SIO_ERR_INVALID_PAYLOAD'],
    ['2{"a":1}', 'SIO_ERR_INVALID_PAYLOAD'],
    ['2[bad', 'SIO_ERR_INVALID_JSON'],
    ['0[]', 'SIO_ERR_INVALID_PAYLOAD'],
    ['1{"a":1}', 'SIO_ERR_INVALID_PAYLOAD'],
    ['3"x"', 'SIO_ERR_INVALID_PAYLOAD'],
  ] as const)('malformed %j → %s', (text, id) => {
    expect(decodeSioPacket(text)).toEqual({ type: 'violation', id, code: 1002, message: expect.any(String) });
  });

  it('never throws on random input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.boolean(), (text, truncated) => {
        decodeEioPacket(text, { truncated });
        decodeEioPayload(text, { truncated });
        decodeSioPacket(text, { truncated });
        const stream = new SocketIoStream();
        for (const item of decodeEioPayload(text)) stream.feed(item, { truncated });
      }),
      { numRuns: 1000 },
    );
    const digits = fc
      .array(fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '-', '/', ',', '[', ']', '"', '{', '}', 'a'), { maxLength: 20 })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(digits, (text) => {
        const r = decodeSioPacket(text);
        expect(['violation', 'number']).toContain(typeof r.type === 'number' ? 'number' : r.type);
      }),
      { numRuns: 1000 },
    );
  });
});
