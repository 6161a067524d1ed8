import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VIOLATION_CODES } from '#protocol';
import type { ViolationId } from '#protocol';
import { FrameDecoder, isValidCloseCode } from './frame-decoder.ts';
import type { FrameItem, MessageItem, WireItem } from './frame-decoder.ts';
import { constants, deflateRawSync } from 'node:zlib';
import { bytes, concatAll, cutsArb, feed, textWithin, toHex } from './test-util.ts';
import { Sender } from './test-util.ts';

const frames = (items: WireItem[]) => items.filter((i): i is FrameItem => i.type === 'frame');
const messages = (items: WireItem[]) => items.filter((i): i is MessageItem => i.type === 'message');
const violations = (items: WireItem[]) => items.filter((i) => i.type === 'violation');

function decode(role: 'client' | 'server', data: Uint8Array, cuts: number[] = [], captureLimit?: number): WireItem[] {
  const d = new FrameDecoder({ role, captureLimit });
  return feed((c) => d.push(c), data, cuts);
}

const HELLO = [0x48, 0x65, 0x6c, 0x6c, 0x6f];
const MASKED_HELLO = [0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];

describe('RFC 6455 §5.7 examples', () => {
  it('single-frame unmasked text', () => {
    const items = decode('server', bytes(0x81, 0x05, ...HELLO));
    expect(items.map((i) => i.type)).toEqual(['frame', 'message']);
    expect(items[0]).toMatchObject({
      fin: true,
      opcode: 1,
      opcodeName: 'text',
      masked: false,
      maskKey: null,
      length: 5,
      lengthForm: 7,
      header: '8105',
      payload: '48656c6c6f',
      text: 'Hello',
    });
    expect(items[1]).toEqual({ type: 'message', opcode: 1, length: 5, frames: 1, compressed: false, text: 'Hello' });
  });

  it('single-frame masked text, split at every byte', () => {
    const data = bytes(0x81, 0x85, ...MASKED_HELLO);
    const items = decode('client', data, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(items[0]).toMatchObject({ masked: true, maskKey: '37fa213d', header: '818537fa213d', payload: '48656c6c6f', text: 'Hello' });
    expect(messages(items)).toEqual([{ type: 'message', opcode: 1, length: 5, frames: 1, compressed: false, text: 'Hello' }]);
  });

  it('fragmented unmasked text "Hel" + "lo"', () => {
    const items = decode('server', bytes(0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f));
    expect(items.map((i) => i.type)).toEqual(['frame', 'frame', 'message']);
    expect(items[0]).toMatchObject({ fin: false, opcode: 1, text: 'Hel' });
    expect(items[1]).toMatchObject({ fin: true, opcode: 0, opcodeName: 'continuation', text: 'lo' });
    expect(items[2]).toMatchObject({ opcode: 1, length: 5, frames: 2, text: 'Hello' });
  });

  it('unmasked ping and masked pong', () => {
    const ping = decode('server', bytes(0x89, 0x05, ...HELLO));
    expect(ping).toHaveLength(1);
    expect(ping[0]).toMatchObject({ opcode: 9, opcodeName: 'ping', payload: '48656c6c6f', masked: false });
    const pong = decode('client', bytes(0x8a, 0x85, ...MASKED_HELLO));
    expect(pong).toHaveLength(1);
    expect(pong[0]).toMatchObject({ opcode: 10, opcodeName: 'pong', payload: '48656c6c6f', maskKey: '37fa213d' });
  });

  it('256-byte binary with a 16-bit length', () => {
    const payload = Uint8Array.from({ length: 256 }, (_, i) => i);
    const items = decode('server', concatAll([bytes(0x82, 0x7e, 0x01, 0x00), payload]), [3, 100]);
    expect(items[0]).toMatchObject({ opcode: 2, length: 256, lengthForm: 16, header: '827e0100', payload: toHex(payload) });
    expect(items[1]).toMatchObject({ type: 'message', opcode: 2, length: 256, data: toHex(payload) });
  });

  it('65536-byte binary with a 64-bit length, payload cut at the capture limit', () => {
    const payload = Uint8Array.from({ length: 65536 }, (_, i) => (i * 7) & 0xff);
    const header = bytes(0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0);
    const items = decode('server', concatAll([header, payload]), [5, 9, 10, 30000]);
    expect(items[0]).toMatchObject({ length: 65536, lengthForm: 64, header: '827f0000000000010000', truncated: true });
    expect((items[0] as FrameItem).payload).toBe(toHex(payload.subarray(0, 4096)));
    expect(items[1]).toMatchObject({ length: 65536, truncated: true, data: toHex(payload.subarray(0, 4096)) });
  });
});

describe('frame events are emitted only when the frame is complete', () => {
  it('holds a frame until its last byte', () => {
    const d = new FrameDecoder({ role: 'server' });
    expect(d.push(bytes(0x82, 0x03, 1, 2))).toEqual([]);
    expect(frames(d.push(bytes(3)))).toHaveLength(1);
  });

  it('non-minimal length encodings are accepted', () => {
    const items = decode('server', bytes(0x82, 0x7e, 0x00, 0x02, 9, 9));
    expect(items[0]).toMatchObject({ length: 2, lengthForm: 16, payload: '0909' });
  });

  it('control frames between fragments do not break the message', () => {
    const data = bytes(0x01, 0x01, 0x61, 0x89, 0x00, 0x80, 0x01, 0x62);
    const items = decode('server', data);
    expect(items.map((i) => (i.type === 'frame' ? i.opcodeName : i.type))).toEqual(['text', 'ping', 'continuation', 'message']);
    expect(messages(items)[0]).toMatchObject({ text: 'ab', frames: 2 });
  });

  it('close frame code and reason', () => {
    const reason = Buffer.from('au revoir');
    const items = decode('server', concatAll([bytes(0x88, 2 + reason.length, 0x03, 0xe8), reason]));
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ opcodeName: 'close', code: 1000, reason: 'au revoir' });
    expect(decode('server', bytes(0x88, 0x00))[0]).not.toHaveProperty('code');
  });
});

/** A message as ws's Sender frames it, with the fields the decoder must find. */
interface Msg {
  text: boolean;
  payload: Uint8Array;
  /** Fragment boundaries inside the payload. */
  cuts: number[];
  ping: boolean;
}

const msgArb: fc.Arbitrary<Msg> = fc
  .record({
    text: fc.boolean(),
    str: fc.string({ unit: 'binary', maxLength: 300 }),
    bin: fc.uint8Array({ maxLength: 70000 }).filter((a) => a.length < 200 || a.length > 65530 || a.length % 97 === 0),
    cuts: fc.array(fc.nat(), { maxLength: 4 }),
    ping: fc.boolean(),
  })
  .map(({ text, str, bin, cuts, ping }) => {
    const payload = text ? Uint8Array.from(Buffer.from(str)) : bin;
    return { text, payload, cuts: [...new Set(cuts.map((c) => c % (payload.length + 1)))].sort((a, b) => a - b), ping };
  });

describe('property: frames written by ws Sender decode to the same fields', () => {
  it('random messages, fragmentation, masking, control frames and chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(msgArb, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        cutsArb,
        fc.integer({ min: 1, max: 5000 }),
        (msgs, mask, cuts, limit) => {
          const role = mask ? 'client' : 'server';
          const wire: Uint8Array[] = [];
          const expected: Array<{ header: string; fin: boolean; opcode: number; length: number; payload: Uint8Array }> = [];
          for (const m of msgs) {
            const bounds = [0, ...m.cuts, m.payload.length];
            for (let i = 0; i + 1 < bounds.length; i++) {
              const fragment = m.payload.slice(bounds[i], bounds[i + 1]);
              const opcode = i === 0 ? (m.text ? 1 : 2) : 0;
              const fin = i + 2 === bounds.length;
              const list: Buffer[] = Sender.frame(Buffer.from(fragment), { fin, opcode, mask, readOnly: false, rsv1: false });
              wire.push(...list);
              expected.push({ header: toHex(list[0]), fin, opcode, length: fragment.length, payload: fragment });
              if (m.ping && !fin) {
                const ping: Buffer[] = Sender.frame(Buffer.from('p'), { fin: true, opcode: 9, mask, readOnly: false, rsv1: false });
                wire.push(...ping);
                expected.push({ header: toHex(ping[0]), fin: true, opcode: 9, length: 1, payload: bytes(0x70) });
              }
            }
          }
          const d = new FrameDecoder({ role, captureLimit: limit });
          const items = feed((c) => d.push(c), concatAll(wire), cuts);
          expect(violations(items)).toEqual([]);
          const got = frames(items);
          expect(got).toHaveLength(expected.length);
          got.forEach((f, i) => {
            const e = expected[i];
            expect(f.header).toBe(e.header);
            expect(f.masked).toBe(mask);
            expect({ fin: f.fin, opcode: f.opcode, length: f.length }).toEqual({ fin: e.fin, opcode: e.opcode, length: e.length });
            expect(f.payload).toBe(toHex(e.payload.subarray(0, Math.min(limit, e.payload.length))));
            expect(f.truncated === true).toBe(e.length > limit);
          });
          const gotMsgs = messages(items);
          expect(gotMsgs).toHaveLength(msgs.length);
          gotMsgs.forEach((g, i) => {
            const m = msgs[i];
            expect(g.length).toBe(m.payload.length);
            expect(g.frames).toBe(m.cuts.length + 1);
            expect(g.truncated === true).toBe(m.payload.length > limit);
            if (m.text) expect(g.text).toBe(textWithin(Buffer.from(m.payload).toString(), limit));
            else expect(g.data).toBe(toHex(m.payload.subarray(0, limit)));
          });
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('violations', () => {
  // Each rule: its id, and the close code ws sends for it (VIOLATION_CODES[id] must agree).
  const cases: Array<[string, 'client' | 'server', number[], ViolationId, number]> = [
    ['reserved non-control opcode', 'server', [0x83, 0x00], 'WS_ERR_RESERVED_OPCODE', 1002],
    ['reserved control opcode', 'server', [0x8b, 0x00], 'WS_ERR_RESERVED_OPCODE', 1002],
    ['RSV1 without extension', 'server', [0xc1, 0x00], 'WS_ERR_UNEXPECTED_RSV1', 1002],
    ['RSV2', 'server', [0xa1, 0x00], 'WS_ERR_RSV2_RSV3', 1002],
    ['RSV3', 'server', [0x91, 0x00], 'WS_ERR_RSV2_RSV3', 1002],
    ['control frame longer than 125', 'server', [0x89, 0x7e, 0x00, 0x7e], 'WS_ERR_CONTROL_TOO_LONG', 1002],
    ['fragmented control frame', 'server', [0x09, 0x00], 'WS_ERR_CONTROL_FRAGMENTED', 1002],
    ['continuation without a message', 'server', [0x80, 0x00], 'WS_ERR_UNEXPECTED_CONTINUATION', 1002],
    ['new data frame inside a fragmented message', 'server', [0x01, 0x01, 0x61, 0x81, 0x00], 'WS_ERR_EXPECTED_CONTINUATION', 1002],
    ['unmasked client frame', 'client', [0x81, 0x00], 'WS_ERR_UNMASKED_CLIENT_FRAME', 1002],
    ['masked server frame', 'server', [0x81, 0x80, 1, 2, 3, 4], 'WS_ERR_MASKED_SERVER_FRAME', 1002],
    // RFC 6455 makes it a protocol error, but ws answers 1009 (length above 2^53 - 1): the monitor reports what ws sends.
    ['64-bit length with MSB set', 'server', [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1], 'WS_ERR_LENGTH_MSB_SET', 1009],
    ['64-bit length beyond 2^53 - 1', 'server', [0x82, 0x7f, 0x00, 0x20, 0, 0, 0, 0, 0, 0], 'WS_ERR_PAYLOAD_TOO_BIG', 1009],
    ['invalid UTF-8 text', 'server', [0x81, 0x02, 0xc3, 0x28], 'WS_ERR_INVALID_UTF8', 1007],
    ['invalid UTF-8 in a fragmented text', 'server', [0x01, 0x01, 0xff, 0x80, 0x01, 0x61], 'WS_ERR_INVALID_UTF8', 1007],
    ['text ending inside a UTF-8 sequence', 'server', [0x01, 0x01, 0xe2, 0x80, 0x01, 0x82], 'WS_ERR_INCOMPLETE_UTF8', 1007],
    ['single-frame text ending inside a UTF-8 sequence', 'server', [0x81, 0x02, 0xe2, 0x82], 'WS_ERR_INCOMPLETE_UTF8', 1007],
    ['close payload of 1 byte', 'server', [0x88, 0x01, 0x03], 'WS_ERR_CLOSE_ONE_BYTE', 1002],
    ['close code 1005 (reserved)', 'server', [0x88, 0x02, 0x03, 0xed], 'WS_ERR_INVALID_CLOSE_CODE', 1002],
    ['close code 999', 'server', [0x88, 0x02, 0x03, 0xe7], 'WS_ERR_INVALID_CLOSE_CODE', 1002],
    ['close code 5000', 'server', [0x88, 0x02, 0x13, 0x88], 'WS_ERR_INVALID_CLOSE_CODE', 1002],
    ['invalid UTF-8 close reason', 'server', [0x88, 0x03, 0x03, 0xe8, 0xff], 'WS_ERR_INVALID_CLOSE_REASON', 1007],
  ];
  for (const [name, role, data, id, code] of cases) {
    it(`${name} → ${id} (${code}), then the rest is ignored`, () => {
      const d = new FrameDecoder({ role });
      const items = d.push(Uint8Array.from(data));
      const v = violations(items);
      expect(v).toHaveLength(1);
      expect(v[0]).toMatchObject({ type: 'violation', id, code, message: expect.any(String) });
      expect(VIOLATION_CODES[id]).toBe(code);
      expect(items[items.length - 1].type).toBe('violation');
      expect(d.failed).toBe(true);
      expect(d.push(bytes(0x81, 0x00, 0x81, 0x00))).toEqual([]);
    });
  }

  it('RSV1 on a continuation or a control frame, under permessage-deflate', () => {
    const cont = new FrameDecoder({ role: 'server', deflate: true });
    expect(violations(cont.push(bytes(0x01, 0x01, 0x61, 0xc0, 0x01, 0x62)))).toMatchObject([
      { id: 'WS_ERR_RSV1_ON_CONTINUATION', code: 1002 },
    ]);
    const control = new FrameDecoder({ role: 'server', deflate: true });
    expect(violations(control.push(bytes(0xc9, 0x00)))).toMatchObject([{ id: 'WS_ERR_RSV1_ON_CONTROL', code: 1002 }]);
  });

  it('invalid UTF-8 is detected across chunks, with the byte split in two', () => {
    const items = decode('server', bytes(0x81, 0x03, 0xe2, 0x28, 0xa1), [3, 4]);
    expect(violations(items)).toEqual([{ type: 'violation', id: 'WS_ERR_INVALID_UTF8', code: 1007, message: expect.any(String) }]);
  });

  it('valid close codes follow RFC 6455 §7.4', () => {
    for (const c of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999]) expect(isValidCloseCode(c)).toBe(true);
    for (const c of [0, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000]) expect(isValidCloseCode(c)).toBe(false);
  });
});

describe('robustness', () => {
  it('never throws on random bytes, whatever the options and chunking', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), fc.boolean(), cutsArb, (data, client, deflate, cuts) => {
        const d = new FrameDecoder({ role: client ? 'client' : 'server', deflate, captureLimit: 16 });
        const items = feed((c) => d.push(c), data, cuts);
        expect(violations(items).length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on random frames with valid headers', () => {
    const frameArb = fc.record({ b0: fc.nat(255), len: fc.nat(130), body: fc.uint8Array({ maxLength: 130 }), mask: fc.boolean() });
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), fc.boolean(), cutsArb, (fs, deflate, cuts) => {
        const wire = fs.flatMap((f) => [
          f.b0,
          (f.mask ? 0x80 : 0) | Math.min(f.len, 125),
          ...(f.mask ? [1, 2, 3, 4] : []),
          ...f.body.subarray(0, Math.min(f.len, 125)),
        ]);
        for (const role of ['client', 'server'] as const) {
          const d = new FrameDecoder({ role, deflate });
          feed((c) => d.push(c), Uint8Array.from(wire), cuts);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('does not copy a large payload: only the capture is kept', () => {
    const d = new FrameDecoder({ role: 'server', captureLimit: 8 });
    const header = bytes(0x82, 0x7f, 0, 0, 0, 0, 0x40, 0, 0, 0); // 1 GiB announced
    expect(d.push(header)).toEqual([]);
    const block = new Uint8Array(1 << 20).fill(7);
    for (let i = 0; i < 1023; i++) expect(d.push(block)).toEqual([]);
    const items = d.push(block);
    expect(items[0]).toMatchObject({ length: 1 << 30, payload: '0707070707070707', truncated: true });
    expect(items[1]).toMatchObject({ type: 'message', length: 1 << 30, data: '0707070707070707' });
  });

  it('does not modify the input chunks when unmasking', () => {
    const data = bytes(0x81, 0x85, ...MASKED_HELLO);
    const copy = data.slice();
    decode('client', data, [7]);
    expect(data).toEqual(copy);
  });
});

describe('shared and reused UTF-8 decoders', () => {
  const fresh = (b: Uint8Array) => new TextDecoder().decode(b, { stream: true });

  it('utf8Prefix equals a fresh streaming TextDecoder, call after call (no state carried over)', async () => {
    const { utf8Prefix } = await import('./common.ts');
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 12 }), { maxLength: 6 }), (arrays) => {
        for (const a of arrays) expect(utf8Prefix(a)).toBe(fresh(a));
      }),
      { numRuns: 500 },
    );
    expect(utf8Prefix(bytes(0xe2, 0x82))).toBe('');
    expect(utf8Prefix(bytes(0xac, 0x41))).toBe('\ufffdA');
    expect(utf8Prefix(bytes(0xef, 0xbb, 0xbf, 0x41))).toBe('A');
  });

  it('single-frame text (validated whole) gives the same violation messages as the streaming path', () => {
    const whole = (payload: number[]) => violations(decode('server', bytes(0x81, payload.length, ...payload)));
    const streamed = (payload: number[]) => violations(decode('server', bytes(0x01, payload.length, ...payload, 0x80, 0x00)));
    for (const p of [[0xc3, 0x28], [0xe2, 0x80], [0x61, 0xf0, 0x9f, 0x98], [0xff], [0x61, 0x62]]) {
      expect(whole(p)).toEqual(streamed(p));
    }
    expect(whole([0xe2, 0x80])[0]).toMatchObject({
      id: 'WS_ERR_INCOMPLETE_UTF8',
      code: 1007,
      message: 'text message ends inside a UTF-8 sequence',
    });
    expect(whole([0xc3, 0x28])[0]).toMatchObject({ id: 'WS_ERR_INVALID_UTF8', code: 1007, message: 'text message is not valid UTF-8' });
  });

  it('the streaming validator is reused across fragmented messages without carrying state', () => {
    const d = new FrameDecoder({ role: 'server' });
    // "é" split across two fragments, then a second fragmented message.
    const items = d.push(bytes(0x01, 0x01, 0xc3, 0x80, 0x01, 0xa9, 0x01, 0x01, 0x61, 0x80, 0x01, 0x62));
    expect(messages(items).map((m) => m.text)).toEqual(['é', 'ab']);
    expect(violations(items)).toEqual([]);
  });

  it('long single-frame text (over the capture limit) is still validated to its end', () => {
    const payload = [...Array(20).fill(0x61), 0xc3, 0x28];
    const items = decode('server', bytes(0x81, payload.length, ...payload), [], 8);
    expect(violations(items)).toEqual([
      { type: 'violation', id: 'WS_ERR_INVALID_UTF8', code: 1007, message: 'text message is not valid UTF-8' },
    ]);
  });
});

/** A masked client frame (key 01 02 03 04). */
function clientFrame(b0: number, payload: number[] | Uint8Array): Uint8Array {
  const key = [1, 2, 3, 4];
  const p = Array.from(payload);
  const len = p.length < 126 ? [0x80 | p.length] : [0x80 | 126, p.length >> 8, p.length & 255];
  return Uint8Array.from([b0, ...len, ...key, ...p.map((b, i) => b ^ key[i & 3])]);
}

describe('the close code ws 8.23 sends (issue #9)', () => {
  it('invalid UTF-8 in an early fragment is reported at the message end, so a later protocol error wins', () => {
    // ws validates text only once the message is whole: a reserved opcode in between closes 1002.
    const items = decode('client', concatAll([clientFrame(0x01, [0xff]), clientFrame(0x83, [])]));
    expect(violations(items)).toEqual([{ type: 'violation', id: 'WS_ERR_RESERVED_OPCODE', code: 1002, message: 'reserved opcode 0x3' }]);
    // With a clean end of message, the invalid byte is reported then (1007), at the last frame.
    const ended = decode('client', concatAll([clientFrame(0x01, [0xff]), clientFrame(0x89, []), clientFrame(0x80, [0x61])]));
    expect(ended.map((i) => (i.type === 'frame' ? `${i.opcodeName}${i.violating ? '!' : ''}` : i.type))).toEqual([
      'text',
      'ping',
      'continuation!',
      'violation',
    ]);
    expect(violations(ended)[0]).toMatchObject({ id: 'WS_ERR_INVALID_UTF8', code: 1007 });
  });

  it('corrupt deflate data in a first fragment is 1007 at that frame, not at the message end', () => {
    const d = new FrameDecoder({ role: 'client', deflate: true });
    const items = d.push(clientFrame(0x41, [0xff, 0xff, 0xff]));
    expect(items.map((i) => i.type)).toEqual(['frame', 'violation']);
    expect(items[0]).toMatchObject({ fin: false, rsv1: true, violating: true });
    expect(items[0]).not.toHaveProperty('partial');
    expect(items[1]).toMatchObject({ id: 'WS_ERR_INFLATE', code: 1007 });
    // Only a complete frame is inflated by ws: the same bytes without their last one say nothing yet.
    const waiting = new FrameDecoder({ role: 'client', deflate: true });
    expect(waiting.push(clientFrame(0x41, [0xff, 0xff, 0xff]).subarray(0, 8))).toEqual([]);
  });

  it('a deflate stream ended by a final block drops what follows it, and the next message starts without history (as ws)', () => {
    const first = deflateRawSync(Buffer.from('hello hello hello')); // BFINAL set
    const second = deflateRawSync(Buffer.from('hello hello'), {
      finishFlush: constants.Z_SYNC_FLUSH,
      dictionary: Buffer.from('hello hello hello'),
    }).subarray(0, -4);
    const d = new FrameDecoder({ role: 'client', deflate: true });
    const one = d.push(clientFrame(0xc1, [...first, 0xff, 0xff]));
    expect(messages(one)).toMatchObject([{ text: 'hello hello hello', compressed: true }]);
    // The second message refers back to the first one: ws's fresh inflater fails with 1007, so does ours.
    expect(violations(d.push(clientFrame(0xc1, second)))).toMatchObject([{ id: 'WS_ERR_INFLATE', code: 1007 }]);
  });

  it('a 64-bit length with its top bit set is 1009 (what ws sends), the frame shown with its header', () => {
    const items = decode('client', bytes(0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 9, 9, 9, 9, 0xaa));
    expect(items[0]).toMatchObject({
      type: 'frame',
      opcode: 2,
      lengthForm: 64,
      header: '82ff800000000000000109090909',
      maskKey: '09090909',
      payload: 'a3',
      violating: true,
      partial: true,
    });
    expect(items[1]).toMatchObject({ type: 'violation', id: 'WS_ERR_LENGTH_MSB_SET', code: 1009 });
  });

  it('a close frame of one byte fails as soon as its header is in (ws checks the length there)', () => {
    const items = decode('client', bytes(0x88, 0x81));
    expect(items.map((i) => i.type)).toEqual(['frame', 'violation']);
    expect(items[0]).toMatchObject({ opcode: 8, length: 1, header: '8881', maskKey: null, violating: true, partial: true });
  });

  it('nothing after a valid close frame is read (ws stops there)', () => {
    const d = new FrameDecoder({ role: 'client' });
    const items = d.push(concatAll([clientFrame(0x88, [0x03, 0xe8]), bytes(0x83, 0x00)]));
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ opcodeName: 'close', code: 1000 });
    expect(d.closed).toBe(true);
    expect(d.push(bytes(0xff, 0xff))).toEqual([]);
    expect(d.midFrame).toBe(false);
  });
});

describe('the violating frame (issue #9): every field the decoder could read', () => {
  it('a reserved opcode, whole in the chunk: all fields, its payload, not partial', () => {
    const items = decode('client', clientFrame(0x83, [0x61, 0x62]));
    expect(items[0]).toEqual({
      type: 'frame',
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      opcode: 3,
      opcodeName: 'reserved-non-control-3',
      masked: true,
      maskKey: '01020304',
      length: 2,
      lengthForm: 7,
      header: '838201020304',
      payload: '6162',
      violating: true,
    });
    expect(items[1]).toEqual({ type: 'violation', id: 'WS_ERR_RESERVED_OPCODE', code: 1002, message: 'reserved opcode 0x3' });
  });

  it('an unmasked client frame: MASK=0, no key, payload and text as sent', () => {
    const items = decode('client', bytes(0x81, 0x05, ...HELLO));
    expect(items[0]).toMatchObject({ masked: false, maskKey: null, length: 5, payload: '48656c6c6f', text: 'Hello', violating: true });
    expect(items[0]).not.toHaveProperty('partial');
  });

  it('only the bytes of the chunk being parsed count: a frame cut short is partial, with zero values for what is missing', () => {
    const whole = bytes(0x83, 0xfe, 0x01, 0x00, 1, 2, 3, 4, 0x60, 0x60);
    // Cut inside the extended length: the length is unknown (0), no key, no payload.
    const cut = decode('client', whole, [3]);
    expect(cut[0]).toMatchObject({
      opcode: 3,
      lengthForm: 16,
      length: 0,
      header: '83fe01',
      maskKey: null,
      payload: '',
      partial: true,
      violating: true,
    });
    // The fault is found on the first two bytes: bytes of later chunks are not used.
    expect(decode('client', whole, [2])[0]).toMatchObject({ header: '83fe', partial: true });
    // Whole header, payload cut: what arrived, unmasked.
    expect(decode('client', whole)[0]).toMatchObject({ length: 256, maskKey: '01020304', payload: '6162', partial: true });
  });

  it('a control frame over 125 bytes, a fragmented one, RSV bits: the frame then the violation', () => {
    for (const data of [bytes(0x89, 0xfe, 0x00, 0x7e), bytes(0x09, 0x80), bytes(0xc1, 0x80), bytes(0xa2, 0x80)]) {
      const items = decode('client', data);
      expect(items.map((i) => i.type)).toEqual(['frame', 'violation']);
      expect(items[0]).toMatchObject({ violating: true, header: toHex(data) });
    }
  });

  it('a bad close payload: the whole frame with its code, then 1002', () => {
    const items = decode('client', clientFrame(0x88, [0x03, 0xed]));
    expect(items[0]).toMatchObject({ opcodeName: 'close', code: 1005, violating: true });
    expect(items[0]).not.toHaveProperty('partial');
    expect(items[1]).toMatchObject({ id: 'WS_ERR_INVALID_CLOSE_CODE', code: 1002, message: 'invalid close code 1005' });
  });
});
