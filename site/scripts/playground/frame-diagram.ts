// The RFC 6455 §5.2 base framing diagram, filled with one frame's actual bits. Pure model;
// element.ts renders it as a table (one row per 32 bits, as in the RFC).
import type { FrameEvent } from '../../../sandbox-server/protocol.ts';

export interface DiagramCell {
  /** Field name as in the RFC ("FIN", "opcode", "Payload len"…). */
  field: string;
  /** French label for screen readers and tooltips. */
  label: string;
  /** The bits of this field that fall in this row, e.g. "0001". */
  bits: string;
  /** Set when the field started in an earlier row. */
  continued: boolean;
  /** Bit offset of the cell from the start of the frame. */
  offset: number;
}

export interface DiagramRow {
  /** Bit offset of the row (0, 32, 64…). */
  offset: number;
  cells: DiagramCell[];
}

export interface DiagramField {
  field: string;
  label: string;
  bits: string;
  /** Value to show (decimal, name, hex…). */
  value: string;
}

const toBits = (hex: string) =>
  (hex.match(/../g) ?? []).map((b) => parseInt(b, 16).toString(2).padStart(8, '0')).join('');

/** XORs an unmasked payload (hex) with the masking key: the bytes as on the wire. */
export function maskHex(payloadHex: string, maskKey: string | null): string {
  if (!maskKey) return payloadHex;
  const key = maskKey.match(/../g)!.map((b) => parseInt(b, 16));
  return (payloadHex.match(/../g) ?? [])
    .map((b, i) => (parseInt(b, 16) ^ key[i % 4]).toString(16).padStart(2, '0'))
    .join('');
}

/** The fields of a frame in wire order, with their bits (payload limited to `payloadBytes` bytes). */
export function frameFields(
  f: Pick<FrameEvent, 'header' | 'payload' | 'maskKey' | 'length' | 'lengthForm' | 'opcodeName'>,
  payloadBytes = 4,
): DiagramField[] {
  const h = toBits(f.header);
  const fields: DiagramField[] = [
    { field: 'FIN', label: 'dernier fragment', bits: h.slice(0, 1), value: h[0] },
    { field: 'RSV1', label: 'réservé 1 (compression)', bits: h.slice(1, 2), value: h[1] },
    { field: 'RSV2', label: 'réservé 2', bits: h.slice(2, 3), value: h[2] },
    { field: 'RSV3', label: 'réservé 3', bits: h.slice(3, 4), value: h[3] },
    { field: 'opcode', label: 'code d’opération', bits: h.slice(4, 8), value: `${parseInt(h.slice(4, 8), 2)} (${f.opcodeName})` },
    { field: 'MASK', label: 'masquée', bits: h.slice(8, 9), value: h[8] },
    { field: 'Payload len', label: 'longueur sur 7 bits', bits: h.slice(9, 16), value: String(parseInt(h.slice(9, 16), 2)) },
  ];
  let pos = 16;
  const extBits = f.lengthForm === 16 ? 16 : f.lengthForm === 64 ? 64 : 0;
  if (extBits) {
    const bits = h.slice(pos, pos + extBits);
    fields.push({
      field: `Extended payload length (${extBits})`,
      label: `longueur étendue sur ${extBits} bits`,
      bits,
      value: String(f.length),
    });
    pos += extBits;
  }
  if (f.maskKey) {
    fields.push({ field: 'Masking-key', label: 'clé de masquage', bits: h.slice(pos, pos + 32), value: f.maskKey });
    pos += 32;
  }
  const shown = Math.min(payloadBytes, f.length, f.payload.length / 2);
  if (shown > 0) {
    const wire = maskHex(f.payload.slice(0, shown * 2), f.maskKey);
    fields.push({
      field: 'Payload Data',
      label: f.maskKey ? 'charge utile (masquée, telle que sur le fil)' : 'charge utile',
      bits: toBits(wire),
      value: `${wire.match(/../g)!.join(' ')}${f.length > shown ? ' …' : ''}`,
    });
  }
  return fields;
}

/** Packs the fields into 32-bit rows, splitting fields across rows as RFC 6455 §5.2 draws them. */
export function frameDiagram(
  f: Pick<FrameEvent, 'header' | 'payload' | 'maskKey' | 'length' | 'lengthForm' | 'opcodeName'>,
  payloadBytes = 4,
): DiagramRow[] {
  const rows: DiagramRow[] = [];
  let offset = 0;
  for (const field of frameFields(f, payloadBytes)) {
    let rest = field.bits;
    let continued = false;
    while (rest.length > 0) {
      const rowOffset = Math.floor(offset / 32) * 32;
      let row = rows[rows.length - 1];
      if (!row || row.offset !== rowOffset) rows.push((row = { offset: rowOffset, cells: [] }));
      const room = rowOffset + 32 - offset;
      const take = rest.slice(0, room);
      row.cells.push({ field: field.field, label: field.label, bits: take, continued, offset });
      offset += take.length;
      rest = rest.slice(take.length);
      continued = true;
    }
  }
  return rows;
}
