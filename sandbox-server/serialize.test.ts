import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OPCODE_NAMES } from '#protocol';
import { serializeEvent, serializeReference } from './serialize.ts';
import { ConnectionDecoder } from './wire/connection-decoder.ts';
import { UPGRADE_REQ, UPGRADE_RES } from './wire/test-util.ts';

const hexArb = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b).toString('hex'));
// Any string, including quotes, backslashes, controls, non-BMP characters and lone surrogates.
const anyText = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u2028', '\ud800', '\udc00', 'é', 'a') }),
  fc.string(),
);
const from = fc.constantFrom('client' as const, 'server' as const);
const conn = fc.nat().map((n) => `c${n}`);
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const frameArb = fc
  .record({
    fin: fc.boolean(),
    rsv1: fc.boolean(),
    rsv2: fc.boolean(),
    rsv3: fc.boolean(),
    opcode: fc.integer({ min: 0, max: 15 }),
    masked: fc.boolean(),
    maskKey: fc.option(hexArb(4), { nil: null }),
    // A violating frame's 64-bit length may be beyond 2^53 (then an approximate float).
    length: fc.oneof(fc.maxSafeNat(), fc.constantFrom(2 ** 53, 2 ** 63, 2 ** 64 - 1, 1e21)),
    lengthForm: fc.constantFrom(7 as const, 16 as const, 64 as const),
    header: hexArb(14),
    payload: hexArb(300),
    truncated: opt(fc.boolean()),
    code: opt(fc.integer({ min: 0, max: 65535 })),
    reason: opt(anyText),
    text: opt(anyText),
    violating: opt(fc.constant(true as const)),
    partial: opt(fc.constant(true as const)),
    from,
    wholeMessage: opt(fc.constant(true as const)),
    conn,
  })
  .map((r) => {
    // The decoders' field order (optional fields only when set).
    const e: Record<string, unknown> = {
      type: 'frame',
      fin: r.fin,
      rsv1: r.rsv1,
      rsv2: r.rsv2,
      rsv3: r.rsv3,
      opcode: r.opcode,
      opcodeName: OPCODE_NAMES[r.opcode],
      masked: r.masked,
      maskKey: r.maskKey,
      length: r.length,
      lengthForm: r.lengthForm,
      header: r.header,
      payload: r.payload,
    };
    for (const k of ['truncated', 'code', 'reason', 'text', 'violating', 'partial'] as const) if (r[k] !== undefined) e[k] = r[k];
    e.from = r.from;
    if (r.wholeMessage) e.wholeMessage = true;
    e.conn = r.conn;
    return e;
  });

const messageArb = fc
  .record({
    opcode: fc.constantFrom(1, 2),
    length: fc.maxSafeNat(),
    frames: fc.nat(),
    compressed: fc.boolean(),
    text: opt(anyText),
    data: opt(hexArb(300)),
    truncated: opt(fc.boolean()),
    from,
    conn,
  })
  .map((r) => {
    const e: Record<string, unknown> = { type: 'message', opcode: r.opcode, length: r.length, frames: r.frames, compressed: r.compressed };
    for (const k of ['text', 'data', 'truncated'] as const) if (r[k] !== undefined) e[k] = r[k];
    e.from = r.from;
    e.conn = r.conn;
    return e;
  });

const seqT = fc.tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 0, max: 2 ** 45 }));

describe('serializeEvent', () => {
  it('frame events parse to the same object as JSON.stringify gives (same text in the decoders’ field order)', () => {
    fc.assert(
      fc.property(seqT, frameArb, ([seq, t], e) => {
        const ours = serializeEvent(seq, t, e as { type: string });
        const ref = serializeReference(seq, t, e);
        expect(JSON.parse(ours)).toEqual(JSON.parse(ref));
        expect(ours).toBe(ref);
      }),
      { numRuns: 2000 },
    );
  });

  it('message events parse to the same object as JSON.stringify gives', () => {
    fc.assert(
      fc.property(seqT, messageArb, ([seq, t], e) => {
        const ours = serializeEvent(seq, t, e as { type: string });
        expect(JSON.parse(ours)).toEqual(JSON.parse(serializeReference(seq, t, e)));
        expect(ours).toBe(serializeReference(seq, t, e));
      }),
      { numRuns: 2000 },
    );
  });

  it('other events go through JSON.stringify', () => {
    const e = { type: 'info', conn: 'c1', message: 'a "b"\n' };
    expect(serializeEvent(3, 4, e)).toBe(serializeReference(3, 4, e));
    expect(serializeEvent(3, 4, e)).toBe('{"seq":3,"t":4,"type":"info","conn":"c1","message":"a \\"b\\"\\n"}');
  });

  it('violating frames as the decoder produces them (partial or not) give the same text as JSON.stringify', () => {
    // Any bytes after a handshake: most break the protocol at some point, in the header or at a frame's end.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 40 }), fc.boolean(), fc.nat(40), (data, client, cut) => {
        const d = new ConnectionDecoder({ captureLimit: 8 });
        d.push('client', Buffer.from(UPGRADE_REQ));
        d.push('server', Buffer.from(UPGRADE_RES));
        const from = client ? 'client' : 'server';
        const items = [...d.push(from, data.subarray(0, cut)), ...d.push(from, data.subarray(cut))];
        for (const item of items) {
          const e = Object.assign(item, { conn: 'c7' });
          expect(serializeEvent(9, 1700000000000, e)).toBe(serializeReference(9, 1700000000000, e));
        }
      }),
      { numRuns: 2000 },
    );
    // One of each, checked by hand.
    const d = new ConnectionDecoder();
    d.push('client', Buffer.from(UPGRADE_REQ));
    d.push('server', Buffer.from(UPGRADE_RES));
    const [frame] = d.push('client', Uint8Array.from([0x83, 0x85, 1, 2]));
    expect(serializeEvent(1, 2, Object.assign(frame, { conn: 'c1' }))).toBe(
      '{"seq":1,"t":2,"type":"frame","fin":true,"rsv1":false,"rsv2":false,"rsv3":false,"opcode":3,"opcodeName":"reserved-non-control-3","masked":true,"maskKey":null,"length":5,"lengthForm":7,"header":"83850102","payload":"","violating":true,"partial":true,"from":"client","conn":"c1"}',
    );
  });

  it('same text as JSON.stringify for what the frame decoder really produces', () => {
    const frameBytes = fc
      .record({
        opcode: fc.constantFrom(0x1, 0x2, 0x8, 0x9, 0xa, 0x0, 0x3),
        fin: fc.boolean(),
        payload: fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.string().map((s) => new TextEncoder().encode(s)),
        ),
        mask: fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: null }),
      })
      .map(({ opcode, fin, payload, mask }) => {
        const len = payload.length;
        const head = [(fin ? 0x80 : 0) | opcode, (mask ? 0x80 : 0) | Math.min(len, 126)];
        if (len >= 126) head.push(len >> 8, len & 0xff);
        const body = mask ? payload.map((b, i) => b ^ mask[i & 3]) : payload;
        return Buffer.concat([Buffer.from(head), mask ? Buffer.from(mask) : Buffer.alloc(0), Buffer.from(body)]);
      });
    fc.assert(
      fc.property(
        fc.array(frameBytes, { maxLength: 6 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 300 }),
        (chunks, client, captureLimit) => {
          // Through a whole connection decoder (after a handshake), as the tap does: its events add
          // `from` and `wholeMessage` to the frame decoder's items; the tap adds `conn`.
          const d = new ConnectionDecoder({ captureLimit });
          d.push('client', Buffer.from(UPGRADE_REQ));
          d.push('server', Buffer.from(UPGRADE_RES));
          for (const item of d.push(client ? 'client' : 'server', Buffer.concat(chunks))) {
            const e = Object.assign(item, { conn: 'c7' });
            expect(serializeEvent(9, 1700000000000, e)).toBe(serializeReference(9, 1700000000000, e));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
