// Serialization of monitor events, with `seq` and `t` first. The hot event types (`frame`: one
// per WebSocket frame, two per echoed message of one frame; `message`: only after a message of
// several frames or a compressed one, the page rebuilding the others from their `wholeMessage`
// frame) are built by concatenation in the field order the decoders create them, which gives
// the same text as JSON.stringify; every other event goes through one JSON.stringify. Strings
// that may hold anything (`text`, `reason`) are quoted by JSON.stringify when they contain a
// character JSON escapes; the others are safe by construction: hex (`header`, `payload`,
// `maskKey`, `data`), `opcodeName` from OPCODE_NAMES, `from` a Direction, `conn` "c<n>".
// serialize.test.ts checks that the output is the same text as serializeReference (one
// JSON.stringify of the whole event) for random events and for what the decoders produce.
import type { FrameEvent, MessageEvent } from '#protocol';

/** No character that JSON.stringify would escape (quote, backslash, control, lone surrogate). */
export const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

function quote(s: string): string {
  return PLAIN.test(s) ? '"' + s + '"' : JSON.stringify(s);
}

/**
 * Concatenation builds a rope that V8 would otherwise flatten (or walk piece by piece) when the
 * string is encoded for the socket, possibly ticks later; a number conversion flattens it now,
 * while its pieces are fresh (the conversion itself stops at the leading `{`).
 */
function flat(s: string): string {
  flattened = (s as unknown as number) | 0; // kept, so that the conversion is not optimized away
  return s;
}
// biome-ignore lint/correctness/noUnusedVariables: written on purpose, never read (see flat).
let flattened = 0;

type Frame = Omit<FrameEvent, 'seq' | 't'>;
type Message = Omit<MessageEvent, 'seq' | 't'>;

/** `t` as text: consecutive events mostly share their millisecond, and a 13-digit number is slow to format. */
let lastT = -1;
let lastTText = '';
function timeText(t: number): string {
  if (t !== lastT) {
    lastT = t;
    lastTText = String(t);
  }
  return lastTText;
}

/**
 * `,"type":"frame"` … `,"maskKey":` for each combination of FIN, RSV1–3, opcode and MASK (512 at
 * most), made on first use. opcodeName is OPCODE_NAMES[opcode] by construction.
 */
const FRAME_SHAPES: (string | undefined)[] = [];
function frameShape(e: Frame): string {
  const key = (e.fin ? 1 : 0) | (e.rsv1 ? 2 : 0) | (e.rsv2 ? 4 : 0) | (e.rsv3 ? 8 : 0) | (e.masked ? 16 : 0) | ((e.opcode & 0xf) << 5);
  return (FRAME_SHAPES[key] ??=
    ',"type":"frame","fin":' +
    e.fin +
    ',"rsv1":' +
    e.rsv1 +
    ',"rsv2":' +
    e.rsv2 +
    ',"rsv3":' +
    e.rsv3 +
    ',"opcode":' +
    e.opcode +
    ',"opcodeName":"' +
    e.opcodeName +
    '","masked":' +
    e.masked +
    ',"maskKey":');
}

function frame(seq: number, t: number, e: Frame): string {
  let s =
    '{"seq":' +
    seq +
    ',"t":' +
    timeText(t) +
    frameShape(e) +
    (e.maskKey === null ? 'null' : '"' + e.maskKey + '"') +
    ',"length":' +
    e.length +
    ',"lengthForm":' +
    e.lengthForm +
    ',"header":"' +
    e.header +
    '","payload":"' +
    e.payload +
    '"';
  if (e.truncated !== undefined) s += ',"truncated":' + e.truncated;
  if (e.code !== undefined) s += ',"code":' + e.code;
  if (e.reason !== undefined) s += ',"reason":' + quote(e.reason);
  if (e.text !== undefined) s += ',"text":' + quote(e.text);
  // Set by the frame decoder on a frame that breaks the protocol, before the connection decoder adds `from`.
  if (e.violating !== undefined) s += ',"violating":' + e.violating;
  if (e.partial !== undefined) s += ',"partial":' + e.partial;
  s += ',"from":"' + e.from + '"';
  if (e.wholeMessage !== undefined) s += ',"wholeMessage":' + e.wholeMessage;
  return s + ',"conn":"' + e.conn + '"}';
}

function message(seq: number, t: number, e: Message): string {
  let s =
    '{"seq":' +
    seq +
    ',"t":' +
    timeText(t) +
    ',"type":"message","opcode":' +
    e.opcode +
    ',"length":' +
    e.length +
    ',"frames":' +
    e.frames +
    ',"compressed":' +
    e.compressed;
  if (e.text !== undefined) s += ',"text":' + quote(e.text);
  if (e.data !== undefined) s += ',"data":"' + e.data + '"';
  if (e.truncated !== undefined) s += ',"truncated":' + e.truncated;
  return s + ',"from":"' + e.from + '","conn":"' + e.conn + '"}';
}

/** `{"seq":…,"t":…,<the event's own fields>}`, without copying the event. */
export function serializeEvent(seq: number, t: number, event: { type: string }): string {
  if (event.type === 'frame') return flat(frame(seq, t, event as Frame));
  if (event.type === 'message') return flat(message(seq, t, event as Message));
  return '{"seq":' + seq + ',"t":' + t + ',' + JSON.stringify(event).slice(1);
}

/**
 * The reference serialization, for tests: one JSON.stringify of the whole event. Written
 * independently of serializeEvent (no string splicing), so that comparing the two can fail.
 */
export function serializeReference(seq: number, t: number, event: object): string {
  return JSON.stringify({ seq, t, ...event });
}
