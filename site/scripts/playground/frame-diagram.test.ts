import { describe, expect, it } from 'vitest';
import { frameDiagram, frameFields, maskHex } from './frame-diagram.ts';

const masked = { header: '818537fa213d', payload: '48656c6c6f', maskKey: '37fa213d', length: 5, lengthForm: 7 as const, opcodeName: 'text' };

describe('frame diagram', () => {
  it('masks payload bytes as on the wire (RFC 6455 §5.7 example)', () => {
    expect(maskHex('48656c6c6f', '37fa213d')).toBe('7f9f4d5158');
  });
  it('fills the first row with FIN, RSV, opcode, MASK and length bits', () => {
    const rows = frameDiagram(masked);
    expect(rows[0].cells.map((c) => [c.field, c.bits])).toEqual([
      ['FIN', '1'], ['RSV1', '0'], ['RSV2', '0'], ['RSV3', '0'], ['opcode', '0001'], ['MASK', '1'], ['Payload len', '0000101'],
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
