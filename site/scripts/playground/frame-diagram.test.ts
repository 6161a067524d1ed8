import { describe, expect, it } from 'vitest';
import { frameDiagram, frameFields, maskHex } from './frame-diagram.ts';

const masked = {
  header: '818537fa213d',
  payload: '48656c6c6f',
  maskKey: '37fa213d',
  length: 5,
  lengthForm: 7 as const,
  opcodeName: 'text',
};

describe('frame diagram', () => {
  it('masks payload bytes as on the wire (RFC 6455 §5.7 example)', () => {
    expect(maskHex('48656c6c6f', '37fa213d')).toBe('7f9f4d5158');
  });
  it('fills the first row with FIN, RSV, opcode, MASK and length bits', () => {
    const rows = frameDiagram(masked);
    expect(rows[0].cells.map((c) => [c.field, c.bits])).toEqual([
      ['FIN', '1'],
      ['RSV1', '0'],
      ['RSV2', '0'],
      ['RSV3', '0'],
      ['opcode', '0001'],
      ['MASK', '1'],
      ['Payload len', '0000101'],
      ['Masking-key', '0011011111111010'],
    ]);
    expect(rows[1].cells[0]).toMatchObject({ field: 'Masking-key', bits: '0010000100111101', continued: true });
    expect(rows[1].cells[1]).toMatchObject({ field: 'Payload Data', bits: '0111111110011111', continued: false });
    expect(rows.every((r) => r.cells.reduce((n, c) => n + c.bits.length, 0) <= 32)).toBe(true);
  });
  it('uses the 16-bit extended length form', () => {
    const f = { header: '827e012c', payload: '00'.repeat(300), maskKey: null, length: 300, lengthForm: 16 as const, opcodeName: 'binary' };
    const fields = frameFields(f);
    expect(fields[6]).toMatchObject({ field: 'Payload len', bits: '1111110', value: '126' });
    expect(fields[7]).toMatchObject({ field: 'Extended payload length (16)', bits: '0000000100101100', value: '300' });
    expect(frameDiagram(f)[0].cells.at(-1)!.field).toBe('Extended payload length (16)');
  });
  it('splits the 64-bit extended length across rows', () => {
    const f = { header: '827f0000000000010000', payload: '', maskKey: null, length: 65536, lengthForm: 64 as const, opcodeName: 'binary' };
    const rows = frameDiagram(f);
    expect(rows.map((r) => r.cells.map((c) => c.bits.length))).toEqual([[1, 1, 1, 1, 4, 1, 7, 16], [32], [16]]);
  });
});

import type { FrameEvent, MonitorEvent } from '#protocol';
import { faultContext, frameFaults, headerInfo } from './frame-diagram.ts';

/** A frame event from its header bytes (fields decoded here, as the server's decoder would). */
function frame(header: string, extra: Partial<FrameEvent> = {}): FrameEvent {
  const b0 = parseInt(header.slice(0, 2), 16);
  const b1 = header.length >= 4 ? parseInt(header.slice(2, 4), 16) : 0;
  const info = headerInfo({ header });
  const masked = (b1 & 0x80) !== 0;
  return {
    seq: 10,
    t: 0,
    type: 'frame',
    conn: 'c1',
    from: 'client',
    fin: (b0 & 0x80) !== 0,
    rsv1: (b0 & 0x40) !== 0,
    rsv2: (b0 & 0x20) !== 0,
    rsv3: (b0 & 0x10) !== 0,
    opcode: b0 & 0x0f,
    opcodeName: 'x',
    masked,
    maskKey: masked && header.length >= 12 ? header.slice(-8) : null,
    length: info.length ?? 0,
    lengthForm: info.len7 === 126 ? 16 : info.len7 === 127 ? 64 : 7,
    header,
    payload: '',
    violating: true,
    ...extra,
  };
}
const fieldsOf = (faults: { field: string }[]) => faults.map((x) => x.field);
const faultyCells = (f: FrameEvent) =>
  frameDiagram(f)
    .flatMap((r) => r.cells)
    .filter((c) => c.fault)
    .map((c) => [c.field, c.bits]);

describe('violating frames: the wrong bits', () => {
  it('a reserved opcode marks the opcode only', () => {
    const f = frame('8385aabbccdd');
    expect(frameFaults(f)).toEqual([{ field: 'opcode', reason: 'opcode 0x3 réservé' }]);
    expect(faultyCells(f)).toEqual([['opcode', '0011']]);
    const opcode = frameFields(f).find((x) => x.field === 'opcode')!;
    expect(opcode.value).toBe('3 (x)  ⚠\u00a0opcode 0x3 réservé');
    expect(frameDiagram(f)[0].cells.find((c) => c.field === 'opcode')!.label).toBe('code d’opération — ⚠\u00a0opcode 0x3 réservé');
    expect(fieldsOf(frameFaults(frame('8b80aabbccdd')))).toEqual(['opcode']);
    expect(frameFaults(frame('8280aabbccdd'))).toEqual([]);
  });
  it('MASK: an unmasked client frame, a masked server frame', () => {
    expect(faultyCells(frame('8105'))).toEqual([['MASK', '0']]);
    expect(frameFaults(frame('8105'))[0].reason).toBe('trame du client non masquée (MASK=0)');
    expect(faultyCells(frame('8185aabbccdd', { from: 'server' }))).toEqual([['MASK', '1']]);
    expect(frameFaults(frame('8105', { from: 'server' }))).toEqual([]);
    expect(frameFaults(frame('8185aabbccdd'))).toEqual([]);
  });
  it('RSV2 and RSV3 always, RSV1 only when no extension allows it', () => {
    expect(faultyCells(frame('b180aabbccdd'))).toEqual([
      ['RSV2', '1'],
      ['RSV3', '1'],
    ]);
    const rsv1 = frame('c180aabbccdd');
    expect(fieldsOf(frameFaults(rsv1, { deflate: false }))).toEqual(['RSV1']);
    expect(frameFaults(rsv1, { deflate: true })).toEqual([]);
    // Handshake not seen: only the violation's rule can tell.
    expect(frameFaults(rsv1)).toEqual([]);
    expect(frameFaults(rsv1, { violation: 'WS_ERR_UNEXPECTED_RSV1' })).toEqual([
      { field: 'RSV1', reason: 'RSV1 à 1 sans extension négociée' },
    ]);
    expect(frameFaults(frame('c980aabbccdd'), { deflate: true })).toEqual([
      { field: 'RSV1', reason: 'RSV1 à 1 sur une trame de contrôle' },
    ]);
    expect(frameFaults(frame('4080aabbccdd'), { deflate: true })).toEqual([
      { field: 'RSV1', reason: 'RSV1 à 1 sur une trame de continuation' },
    ]);
  });
  it('control frames: the length over 125, FIN when fragmented', () => {
    const big = frame('89fe00c8aabbccdd');
    expect(frameFaults(big)).toEqual([{ field: 'Payload len', reason: 'trame de contrôle de plus de 125 octets' }]);
    expect(faultyCells(big)).toEqual([['Payload len', '1111110']]);
    expect(frameFaults(frame('89fdaabbccdd'))).toEqual([]);
    expect(faultyCells(frame('0980aabbccdd'))).toEqual([['FIN', '0']]);
    expect(frameFaults(frame('0980aabbccdd'))[0].reason).toBe('trame de contrôle fragmentée (FIN=0)');
    // A fragmented data frame is fine.
    expect(frameFaults(frame('0180aabbccdd'))).toEqual([]);
  });
  it('the most significant bit of a 64-bit length', () => {
    const f = frame('82ff8000000000000001aabbccdd');
    expect(fieldsOf(frameFaults(f))).toEqual(['Extended payload length']);
    expect(
      frameDiagram(f)
        .flatMap((r) => r.cells)
        .filter((c) => c.fault)
        .map((c) => c.field),
    ).toEqual(['Extended payload length (64)', 'Extended payload length (64)', 'Extended payload length (64)']);
  });
  it('a 64-bit length beyond 2^53 − 1, a close frame of one byte', () => {
    expect(frameFaults(frame('82ff0020000000000000aabbccdd'))).toEqual([
      { field: 'Extended payload length', reason: 'longueur au-delà de 2⁵³ − 1 octets (non prise en charge)' },
    ]);
    expect(frameFaults(frame('82ff001fffffffffffffaabbccdd'))).toEqual([]);
    expect(frameFaults(frame('8881aabbccdd'))).toEqual([
      { field: 'Payload len', reason: 'trame de fermeture d’un seul octet (un code en demande 2)' },
    ]);
    expect(frameFaults(frame('8882aabbccdd'))).toEqual([]);
  });
  it('several faults at once, in wire order', () => {
    expect(fieldsOf(frameFaults(frame('3305')))).toEqual(['RSV2', 'RSV3', 'opcode', 'MASK']);
    expect(fieldsOf(frameFaults(frame('0b7e0000')))).toEqual(['FIN', 'opcode', 'MASK', 'Payload len']);
  });
  it('a frame the server accepted is never marked, whatever its bits', () => {
    expect(frameFaults(frame('8305', { violating: undefined }))).toEqual([]);
    expect(
      frameDiagram(frame('8305', { violating: undefined }))
        .flatMap((r) => r.cells)
        .some((c) => c.fault),
    ).toBe(false);
  });
  it("falls back on the violation's rule (its id) for what the fields cannot show", () => {
    const cont = frame('8085aabbccdd');
    expect(frameFaults(cont)).toEqual([]);
    expect(frameFaults(cont, { violation: 'WS_ERR_UNEXPECTED_CONTINUATION' })).toEqual([
      { field: 'opcode', reason: 'continuation sans message à continuer' },
    ]);
    expect(frameFaults(frame('8185aabbccdd'), { violation: 'WS_ERR_EXPECTED_CONTINUATION' })).toEqual([
      { field: 'opcode', reason: 'nouveau message alors qu’un message fragmenté est en cours' },
    ]);
    expect(frameFaults(frame('8182aabbccdd'), { violation: 'WS_ERR_INVALID_UTF8' })).toEqual([
      { field: 'Payload Data', reason: 'texte qui n’est pas de l’UTF-8 valide' },
    ]);
    expect(frameFaults(frame('8882aabbccdd'), { violation: 'WS_ERR_INVALID_CLOSE_CODE' })).toEqual([
      { field: 'Payload Data', reason: 'code de fermeture invalide' },
    ]);
    for (const id of ['WS_ERR_INVALID_CLOSE_REASON', 'WS_ERR_INCOMPLETE_UTF8', 'WS_ERR_INFLATE', 'WS_ERR_INFLATED_INVALID_UTF8'] as const) {
      expect(fieldsOf(frameFaults(frame('8182aabbccdd'), { violation: id }))).toEqual(['Payload Data']);
    }
    // A 64-bit length whose bytes did not arrive: the rule names the field.
    expect(fieldsOf(frameFaults(frame('82ff', { partial: true }), { violation: 'WS_ERR_PAYLOAD_TOO_BIG' }))).toEqual([
      'Extended payload length',
    ]);
    // Rules the fields show add nothing, and the fields win over the rule.
    expect(frameFaults(frame('8185aabbccdd'), { violation: 'WS_ERR_RESERVED_OPCODE' })).toEqual([]);
    expect(fieldsOf(frameFaults(frame('8305'), { violation: 'WS_ERR_INVALID_UTF8' }))).toEqual(['opcode', 'MASK']);
  });
  it('partial frames: rules only on header bytes that arrived, unread fields « non reçu »', () => {
    // One byte in: MASK is an unread zero, not a client's unmasked frame.
    const one = frame('83', { partial: true });
    expect(frameFaults(one)).toEqual([{ field: 'opcode', reason: 'opcode 0x3 réservé' }]);
    const fields = frameFields(one);
    expect(fields.find((x) => x.field === 'MASK')).toMatchObject({ bits: '', value: 'non reçu' });
    expect(fields.find((x) => x.field === 'Payload len')).toMatchObject({ bits: '', value: 'non reçu' });
    expect(frameDiagram(one).map((r) => r.cells.map((c) => c.field))).toEqual([['FIN', 'RSV1', 'RSV2', 'RSV3', 'opcode']]);
    // Header without its masking key nor payload: the length from the header, the rest not received.
    const two = frame('8385', { partial: true, length: 0 });
    const f2 = frameFields(two);
    expect(f2.find((x) => x.field === 'Payload len')!.value).toBe('5');
    expect(f2.find((x) => x.field === 'Masking-key')).toMatchObject({ bits: '', value: 'non reçue' });
    expect(f2.find((x) => x.field === 'Payload Data')).toMatchObject({ bits: '', value: 'non reçue' });
    const ext = frame('827e01', { partial: true, from: 'server' });
    expect(frameFields(ext).find((x) => x.field.startsWith('Extended'))).toMatchObject({ bits: '00000001', value: 'non reçu' });
  });
  it('finds the context of a frame in the run: deflate from the 101, the violation after it', () => {
    const f = frame('c180aabbccdd', { seq: 5 });
    const events: MonitorEvent[] = [
      {
        seq: 3,
        t: 0,
        type: 'http',
        conn: 'c1',
        from: 'server',
        head: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket',
        headLength: 60,
      },
      { seq: 4, t: 0, type: 'violation', conn: 'c1', from: 'client', id: 'WS_ERR_RESERVED_OPCODE', code: 1002, message: 'earlier' },
      f,
      { seq: 6, t: 0, type: 'violation', conn: 'c2', from: 'client', id: 'WS_ERR_RSV2_RSV3', code: 1002, message: 'other connection' },
      // The message is not read: the id is.
      {
        seq: 7,
        t: 0,
        type: 'violation',
        conn: 'c1',
        from: 'client',
        id: 'WS_ERR_UNEXPECTED_RSV1',
        code: 1002,
        message: 'reserved opcode 0x3',
      },
      { seq: 8, t: 0, type: 'violation', conn: 'c1', from: 'client', id: 'WS_ERR_INVALID_UTF8', code: 1007, message: 'later' },
    ];
    expect(faultContext(events, f)).toEqual({ deflate: false, violation: 'WS_ERR_UNEXPECTED_RSV1' });
    // An event recorded before violations had ids: found, but it names no rule (the later one is not taken).
    const old = {
      seq: 6,
      t: 0,
      type: 'violation',
      conn: 'c1',
      from: 'client',
      code: 1002,
      message: 'RSV1 set but no extension was negotiated',
    };
    expect(faultContext([f, old as unknown as MonitorEvent, events[4]], f)).toEqual({});
    const deflate = {
      ...events[0],
      head: 'HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Extensions: permessage-deflate',
    } as MonitorEvent;
    expect(faultContext([deflate], f)).toEqual({ deflate: true });
    expect(frameFaults(f, faultContext(events, f))).toEqual([{ field: 'RSV1', reason: 'RSV1 à 1 sans extension négociée' }]);
  });
});
