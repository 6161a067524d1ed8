// The RFC 6455 §5.2 base framing diagram, filled with one frame's actual bits. Pure model;
// element.ts renders it as a table (one row per 32 bits, as in the RFC).
import type { FrameEvent, MonitorEvent, ViolationId } from '#protocol';

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
  /** Set when the field breaks the protocol: why, in French. */
  fault?: string;
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
  /** Value to show (decimal, name, hex…; « non reçu » for bits that did not arrive). */
  value: string;
  /** Set when the field breaks the protocol: why, in French (the value then ends with « ⚠ … »). */
  fault?: string;
}

const toBits = (hex: string) => (hex.match(/../g) ?? []).map((b) => parseInt(b, 16).toString(2).padStart(8, '0')).join('');

/** XORs an unmasked payload (hex) with the masking key: the bytes as on the wire. */
export function maskHex(payloadHex: string, maskKey: string | null): string {
  if (!maskKey) return payloadHex;
  const key = maskKey.match(/../g)!.map((b) => parseInt(b, 16));
  return (payloadHex.match(/../g) ?? []).map((b, i) => (parseInt(b, 16) ^ key[i % 4]).toString(16).padStart(2, '0')).join('');
}

// ---------------------------------------------------------------------------------------------
// Violations. A frame marked `violating` is drawn with the fields that break RFC 6455 marked, as
// Wireshark's expert info does. The faults are derived from the frame's own fields (the same rules
// as the server's decoder, so they agree with it); only what the fields cannot tell (RSV1 without
// negotiation when the handshake was not seen, a continuation without a message, a bad close
// code…) falls back to the rule the violation event names (its `id`).
// ---------------------------------------------------------------------------------------------

/** The diagram fields a fault can point at (the extended length matches both of its forms). */
export type FaultField = 'FIN' | 'RSV1' | 'RSV2' | 'RSV3' | 'opcode' | 'MASK' | 'Payload len' | 'Extended payload length' | 'Payload Data';

export interface FrameFault {
  field: FaultField;
  /** Why, in French, for the terminal and the frame detail. */
  reason: string;
}

/** What the frame alone does not say. */
export interface FaultContext {
  /** permessage-deflate negotiated on the frame's connection (undefined: handshake not seen). */
  deflate?: boolean;
  /** Rule of the `violation` event that followed the frame. */
  violation?: ViolationId;
}

export type FaultInput = Pick<FrameEvent, 'from' | 'header' | 'fin' | 'rsv1' | 'rsv2' | 'rsv3' | 'opcode' | 'masked' | 'violating'>;

const isReservedOpcode = (op: number) => (op >= 0x3 && op <= 0x7) || op >= 0xb;

/**
 * What the header bytes on the wire say about the length. A partial frame's unread fields keep zero
 * values, so its `length` cannot be trusted: the header bytes that did arrive can.
 */
export function headerInfo(f: Pick<FrameEvent, 'header'>): {
  /** Bytes of the header that arrived. */
  bytes: number;
  /** The 7-bit length field, or null when the second byte did not arrive. */
  len7: number | null;
  /** Declared payload length, or null when the header bytes carrying it did not all arrive. */
  length: number | null;
} {
  const bytes = Math.floor(f.header.length / 2);
  const byte = (i: number) => parseInt(f.header.slice(i * 2, i * 2 + 2), 16);
  if (bytes < 2) return { bytes, len7: null, length: null };
  const len7 = byte(1) & 0x7f;
  if (len7 < 126) return { bytes, len7, length: len7 };
  if (len7 === 126) return { bytes, len7, length: bytes >= 4 ? byte(2) * 256 + byte(3) : null };
  if (bytes < 10) return { bytes, len7, length: null };
  let length = 0;
  for (let i = 2; i < 10; i++) length = length * 256 + byte(i);
  return { bytes, len7, length };
}

/**
 * The fields of a violating frame that break the protocol, in wire order (empty for a frame not
 * marked `violating`: a frame the server accepted is never marked, e.g. RSV1 under deflate).
 */
export function frameFaults(f: FaultInput, ctx: FaultContext = {}): FrameFault[] {
  if (!f.violating) return [];
  const { bytes, len7 } = headerInfo(f);
  const faults: FrameFault[] = [];
  // Rules on byte 0 (FIN, RSV, opcode) and byte 1 (MASK, length) apply only once that byte
  // arrived: a partial frame's other fields are zero values, not the sender's bits.
  if (bytes >= 1) {
    const op = f.opcode;
    const control = op >= 0x8;
    if (!f.fin && control) faults.push({ field: 'FIN', reason: 'trame de contrôle fragmentée (FIN=0)' });
    if (f.rsv1) {
      const why = control
        ? 'RSV1 à 1 sur une trame de contrôle'
        : op === 0x0
          ? 'RSV1 à 1 sur une trame de continuation'
          : ctx.deflate === false || (ctx.deflate === undefined && ctx.violation === 'WS_ERR_UNEXPECTED_RSV1')
            ? 'RSV1 à 1 sans extension négociée'
            : null;
      if (why) faults.push({ field: 'RSV1', reason: why });
    }
    if (f.rsv2) faults.push({ field: 'RSV2', reason: 'RSV2 à 1 sans extension qui le définisse' });
    if (f.rsv3) faults.push({ field: 'RSV3', reason: 'RSV3 à 1 sans extension qui le définisse' });
    if (isReservedOpcode(op)) faults.push({ field: 'opcode', reason: `opcode 0x${op.toString(16)} réservé` });
    if (bytes >= 2) {
      if (f.from === 'client' && !f.masked) faults.push({ field: 'MASK', reason: 'trame du client non masquée (MASK=0)' });
      if (f.from === 'server' && f.masked) faults.push({ field: 'MASK', reason: 'trame du serveur masquée (MASK=1)' });
      if (control && len7 !== null && len7 > 125) {
        faults.push({ field: 'Payload len', reason: 'trame de contrôle de plus de 125 octets' });
      }
      // A close frame's payload is empty or starts with a 2-byte status code (RFC 6455 §5.5.1).
      if (op === 0x8 && len7 === 1)
        faults.push({ field: 'Payload len', reason: 'trame de fermeture d’un seul octet (un code en demande 2)' });
      // 64-bit form: the most significant bit must be 0 (RFC 6455 §5.2); beyond 2^53 − 1 the
      // server (ws, like any JS number) cannot count the bytes and answers 1009.
      const high = len7 === 127 && bytes >= 6 ? parseInt(f.header.slice(4, 12), 16) : 0;
      if (high >= 0x80000000) {
        faults.push({ field: 'Extended payload length', reason: 'longueur sur 64 bits avec le bit de poids fort à 1' });
      } else if (high > 0x1fffff) {
        faults.push({ field: 'Extended payload length', reason: 'longueur au-delà de 2⁵³ − 1 octets (non prise en charge)' });
      }
    }
  }
  if (faults.length === 0 && ctx.violation) {
    const fallback = FAULT_OF_RULE[ctx.violation];
    if (fallback) faults.push(fallback);
  }
  return faults;
}

/**
 * Faults the fields cannot show, by the rule the violation names (the rules the fields show are
 * left out: their own reasons above are drawn instead).
 */
const FAULT_OF_RULE: Partial<Record<ViolationId, FrameFault>> = {
  WS_ERR_UNEXPECTED_RSV1: { field: 'RSV1', reason: 'RSV1 à 1 sans extension négociée' },
  WS_ERR_UNEXPECTED_CONTINUATION: { field: 'opcode', reason: 'continuation sans message à continuer' },
  WS_ERR_EXPECTED_CONTINUATION: { field: 'opcode', reason: 'nouveau message alors qu’un message fragmenté est en cours' },
  WS_ERR_INVALID_CLOSE_CODE: { field: 'Payload Data', reason: 'code de fermeture invalide' },
  WS_ERR_INVALID_CLOSE_REASON: { field: 'Payload Data', reason: 'raison de fermeture qui n’est pas de l’UTF-8 valide' },
  WS_ERR_INVALID_UTF8: { field: 'Payload Data', reason: 'texte qui n’est pas de l’UTF-8 valide' },
  WS_ERR_INCOMPLETE_UTF8: { field: 'Payload Data', reason: 'texte coupé au milieu d’un caractère UTF-8' },
  WS_ERR_INFLATE: { field: 'Payload Data', reason: 'données compressées invalides' },
  WS_ERR_INFLATED_INVALID_UTF8: { field: 'Payload Data', reason: 'texte décompressé qui n’est pas de l’UTF-8 valide' },
  WS_ERR_LENGTH_MSB_SET: { field: 'Extended payload length', reason: 'longueur sur 64 bits avec le bit de poids fort à 1' },
  WS_ERR_PAYLOAD_TOO_BIG: { field: 'Extended payload length', reason: 'longueur au-delà de 2⁵³ − 1 octets (non prise en charge)' },
};

/**
 * Context of a frame from the run's events: the handshake answer of its connection (deflate) and
 * the violation that followed it on the same connection and direction.
 */
export function faultContext(events: readonly MonitorEvent[], frame: Pick<FrameEvent, 'seq' | 'conn' | 'from'>): FaultContext {
  const ctx: FaultContext = {};
  let found = false;
  for (const e of events) {
    if (e.type === 'http' && e.conn === frame.conn && e.from === 'server' && / 101 /.test(e.head.split('\r\n')[0])) {
      ctx.deflate = /^sec-websocket-extensions:.*permessage-deflate/im.test(e.head);
    }
    if (e.type === 'violation' && e.conn === frame.conn && e.from === frame.from && e.seq > frame.seq && !found) {
      found = true;
      // An event recorded before violations had ids has none: no fallback then.
      if (e.id !== undefined) ctx.violation = e.id;
    }
  }
  return ctx;
}

// ---------------------------------------------------------------------------------------------

/** A field of a violating frame: the reason, set on the diagram fields and cells it concerns. */
const faultFor = (faults: readonly FrameFault[], field: string) =>
  faults
    .filter((x) => field === x.field || (x.field === 'Extended payload length' && field.startsWith(x.field)))
    .map((x) => x.reason)
    .join(', ') || undefined;

/** Bits not on the wire (a partial frame): shown as such rather than as zeros. */
const NOT_RECEIVED = 'non reçu';

export type FrameInput = Pick<FrameEvent, 'header' | 'payload' | 'maskKey' | 'length' | 'lengthForm' | 'opcodeName'> &
  Partial<Pick<FrameEvent, 'partial'>> &
  Partial<FaultInput>;

/** Faults of a frame given with all its fields; none for a bare header (older callers, tests). */
const defaultFaults = (f: FrameInput): FrameFault[] =>
  f.violating && f.from !== undefined && f.opcode !== undefined ? frameFaults(f as FaultInput) : [];

/**
 * The fields of a frame in wire order, with their bits (payload limited to `payloadBytes` bytes).
 * `faults` defaults to what the frame's own fields show (pass frameFaults(f, faultContext(…)) for
 * the cases only the connection tells); a faulty field gets `fault` and a « ⚠ » in its value.
 */
export function frameFields(f: FrameInput, payloadBytes = 4, faults: readonly FrameFault[] = defaultFaults(f)): DiagramField[] {
  const h = toBits(f.header);
  const bit = (i: number) => h.slice(i, i + 1);
  const num = (bits: string) => (bits ? String(parseInt(bits, 2)) : NOT_RECEIVED);
  const info = headerInfo(f);
  const fields: DiagramField[] = [
    { field: 'FIN', label: 'dernier fragment', bits: bit(0), value: bit(0) || NOT_RECEIVED },
    { field: 'RSV1', label: 'réservé 1 (compression)', bits: bit(1), value: bit(1) || NOT_RECEIVED },
    { field: 'RSV2', label: 'réservé 2', bits: bit(2), value: bit(2) || NOT_RECEIVED },
    { field: 'RSV3', label: 'réservé 3', bits: bit(3), value: bit(3) || NOT_RECEIVED },
    {
      field: 'opcode',
      label: 'code d’opération',
      bits: h.slice(4, 8),
      value: h.length >= 8 ? `${parseInt(h.slice(4, 8), 2)} (${f.opcodeName})` : NOT_RECEIVED,
    },
    { field: 'MASK', label: 'masquée', bits: bit(8), value: bit(8) || NOT_RECEIVED },
    {
      field: 'Payload len',
      label: 'longueur sur 7 bits',
      bits: h.slice(9, 16),
      value: h.length >= 16 ? num(h.slice(9, 16)) : NOT_RECEIVED,
    },
  ];
  let pos = 16;
  // The length form and the mask come from the header bits when they arrived (a partial frame's
  // lengthForm may be an unread zero value); a bare header (tests) falls back to the fields.
  const extBits = info.len7 === null ? 0 : info.len7 === 126 ? 16 : info.len7 === 127 ? 64 : 0;
  if (extBits) {
    const bits = h.slice(pos, pos + extBits);
    fields.push({
      field: `Extended payload length (${extBits})`,
      label: `longueur étendue sur ${extBits} bits`,
      bits,
      value: info.length !== null ? String(info.length) : NOT_RECEIVED,
    });
    pos += extBits;
  }
  if (bit(8) === '1') {
    const bits = h.slice(pos, pos + 32);
    fields.push({
      field: 'Masking-key',
      label: 'clé de masquage',
      bits,
      value: bits.length === 32 ? f.header.slice(pos / 4, pos / 4 + 8) : 'non reçue',
    });
    pos += 32;
  }
  const length = info.length ?? f.length;
  const shown = Math.min(payloadBytes, length, f.payload.length / 2);
  const key = bit(8) === '1' && h.length >= pos ? f.header.slice(pos / 4 - 8, pos / 4) : null;
  if (shown > 0) {
    const wire = maskHex(f.payload.slice(0, shown * 2), key ?? f.maskKey);
    fields.push({
      field: 'Payload Data',
      label: key ? 'charge utile (masquée, telle que sur le fil)' : 'charge utile',
      bits: toBits(wire),
      value: `${wire.match(/../g)!.join(' ')}${length > shown ? ' …' : ''}`,
    });
  } else if (f.partial && length > 0) {
    fields.push({ field: 'Payload Data', label: 'charge utile', bits: '', value: 'non reçue' });
  }
  for (const field of fields) {
    const fault = faultFor(faults, field.field);
    if (fault) {
      field.fault = fault;
      field.value += `  ⚠\u00a0${fault}`;
    }
  }
  return fields;
}

/** Packs the fields into 32-bit rows, splitting fields across rows as RFC 6455 §5.2 draws them. */
export function frameDiagram(f: FrameInput, payloadBytes = 4, faults: readonly FrameFault[] = defaultFaults(f)): DiagramRow[] {
  const rows: DiagramRow[] = [];
  let offset = 0;
  for (const field of frameFields(f, payloadBytes, faults)) {
    let rest = field.bits;
    let continued = false;
    while (rest.length > 0) {
      const rowOffset = Math.floor(offset / 32) * 32;
      let row = rows[rows.length - 1];
      if (!row || row.offset !== rowOffset) rows.push((row = { offset: rowOffset, cells: [] }));
      const room = rowOffset + 32 - offset;
      const take = rest.slice(0, room);
      const cell: DiagramCell = { field: field.field, label: field.label, bits: take, continued, offset };
      // The tooltip says what is wrong, so the detail panel shows it with no change of its own.
      if (field.fault) Object.assign(cell, { fault: field.fault, label: `${field.label} — ⚠ ${field.fault}` });
      row.cells.push(cell);
      offset += take.length;
      rest = rest.slice(take.length);
      continued = true;
    }
  }
  return rows;
}
