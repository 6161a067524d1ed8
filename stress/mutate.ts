// Mutated client frame streams for the fuzz (stress/fuzz.ts) and the decoder's parity test:
// valid seeds built from real frames (ws's own frame writer, real deflate data), then structural
// mutations on the frame list (opcode, FIN, RSV, MASK, declared lengths, invalid UTF-8, close
// payloads, corrupt compressed data, frames dropped, duplicated or swapped) and byte-level ones on
// the serialized stream (bit flips, bytes, truncation, insertion). Deterministic for a seed.
import { constants, deflateRawSync } from 'node:zlib';

/** Small fast PRNG (mulberry32): the fuzz must be reproducible from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, list: readonly T[]): T => list[int(r, list.length)];
const chance = (r: Rand, p: number) => r() < p;

/** permessage-deflate as negotiated for the case: off, on (context takeover), on with client_no_context_takeover. */
export type DeflateMode = 'off' | 'on' | 'nct';

export interface FuzzCase {
  id: number;
  deflate: DeflateMode;
  /** Mutations applied, in order ('seed' for none). */
  mutations: string[];
  /** The client's bytes after the handshake. */
  bytes: Uint8Array;
  /** Offsets where the bytes are cut into separate writes. */
  cuts: number[];
  /** The bytes go in the same write as the upgrade request (before the 101). */
  early: boolean;
}

interface Frame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  key: number[];
  payload: Uint8Array;
  /** Declared length when it differs from the payload's (a mutation), and the length form. */
  declared?: number;
  form?: 7 | 16 | 64;
}

const TEXTS = ['bonjour', 'Hello', 'é', 'ça marche ✓', '日本語', '😀 emoji', 'x'.repeat(130), 'abc'.repeat(60), ''];
const CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999];
const ODD_CLOSE_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535];
const BAD_UTF8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xc3, 0x28]];

function randomBytes(r: Rand, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

function frame(r: Rand, opcode: number, payload: Uint8Array, fin = true, rsv1 = false): Frame {
  return { fin, rsv1, rsv2: false, rsv3: false, opcode, masked: true, key: [int(r, 256), int(r, 256), int(r, 256), int(r, 256)], payload };
}

/** Splits a payload into 1–3 fragments of a message of type `opcode`. */
function fragments(r: Rand, opcode: number, payload: Uint8Array, compressed: boolean): Frame[] {
  const n = payload.length > 2 && chance(r, 0.35) ? 2 + int(r, 2) : 1;
  const cuts = [...new Set(Array.from({ length: n - 1 }, () => int(r, payload.length + 1)))].sort((a, b) => a - b);
  const bounds = [0, ...cuts, payload.length];
  const out: Frame[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    out.push(frame(r, i === 0 ? opcode : 0, payload.subarray(bounds[i], bounds[i + 1]), i + 2 === bounds.length, compressed && i === 0));
  }
  return out;
}

/** A valid stream: 1–4 messages, control frames between fragments, sometimes a close at the end. */
function seed(r: Rand, deflate: DeflateMode): Frame[] {
  const frames: Frame[] = [];
  let history = Buffer.alloc(0);
  const count = 1 + int(r, 4);
  for (let m = 0; m < count; m++) {
    const text = chance(r, 0.6);
    const plain = text
      ? Buffer.from(pick(r, TEXTS) + (chance(r, 0.5) ? pick(r, TEXTS) : ''))
      : Buffer.from(randomBytes(r, int(r, chance(r, 0.1) ? 600 : 40)));
    let payload: Uint8Array = plain;
    const compressed = deflate !== 'off' && chance(r, 0.85);
    if (compressed) {
      // Real deflate data, as a browser sends it: context takeover uses the earlier messages.
      const dictionary =
        deflate === 'on' && history.length > 0 ? { dictionary: history.subarray(Math.max(0, history.length - 32768)) } : {};
      if (chance(r, 0.1)) {
        payload = deflateRawSync(plain, dictionary); // ends with a final block (BFINAL): still valid for ws
      } else {
        const z = deflateRawSync(plain, { finishFlush: constants.Z_SYNC_FLUSH, ...dictionary });
        payload = z.subarray(0, z.length - 4);
      }
      if (deflate === 'on' && payload.length > 0) history = Buffer.concat([history, plain]);
    }
    const parts = fragments(r, text ? 1 : 2, payload, compressed);
    for (const p of parts) {
      frames.push(p);
      if (!p.fin && chance(r, 0.3)) frames.push(frame(r, pick(r, [9, 10]), randomBytes(r, int(r, 10))));
    }
    if (chance(r, 0.15)) frames.push(frame(r, 9, Buffer.from('ping')));
  }
  if (chance(r, 0.3)) {
    const reason = Buffer.from(chance(r, 0.5) ? 'au revoir' : '');
    const code = pick(r, CLOSE_CODES);
    frames.push(frame(r, 8, chance(r, 0.15) ? new Uint8Array(0) : Buffer.concat([Buffer.from([code >> 8, code & 255]), reason])));
  }
  return frames;
}

function serialize(frames: Frame[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of frames) {
    const len = f.declared ?? f.payload.length;
    const form = f.form ?? (len < 126 ? 7 : len < 65536 ? 16 : 64);
    const h: number[] = [(f.fin ? 0x80 : 0) | (f.rsv1 ? 0x40 : 0) | (f.rsv2 ? 0x20 : 0) | (f.rsv3 ? 0x10 : 0) | (f.opcode & 0x0f)];
    const m = f.masked ? 0x80 : 0;
    if (form === 7) h.push(m | (len & 0x7f));
    else if (form === 16) h.push(m | 126, (len >> 8) & 255, len & 255);
    else {
      const high = Math.floor(len / 2 ** 32);
      h.push(
        m | 127,
        (high >>> 24) & 255,
        (high >>> 16) & 255,
        (high >>> 8) & 255,
        high & 255,
        (len >>> 24) & 255,
        (len >>> 16) & 255,
        (len >>> 8) & 255,
        len & 255,
      );
    }
    if (f.masked) h.push(...f.key);
    parts.push(Uint8Array.from(h));
    parts.push(f.masked ? f.payload.map((b, i) => b ^ f.key[i & 3]) : f.payload);
  }
  return Uint8Array.from(Buffer.concat(parts));
}

const STRUCTURAL = ['opcode', 'fin', 'rsv', 'mask', 'length', 'utf8', 'close', 'control', 'reorder', 'deflate'] as const;
const BYTEWISE = ['bitflip', 'byte', 'truncate', 'insert'] as const;
export const MUTATIONS = ['seed', ...STRUCTURAL, ...BYTEWISE] as const;

function mutateFrames(r: Rand, frames: Frame[], kind: (typeof STRUCTURAL)[number], deflate: DeflateMode): void {
  if (frames.length === 0) frames.push(frame(r, 1, Buffer.from('x')));
  const f = pick(r, frames);
  switch (kind) {
    case 'opcode':
      f.opcode = int(r, 16);
      return;
    case 'fin':
      f.fin = !f.fin;
      return;
    case 'rsv': {
      const bit = int(r, 3);
      if (bit === 0) f.rsv1 = !f.rsv1;
      else if (bit === 1) f.rsv2 = !f.rsv2;
      else f.rsv3 = !f.rsv3;
      return;
    }
    case 'mask':
      f.masked = !f.masked;
      return;
    case 'length': {
      const form = pick(r, [7, 16, 64] as const);
      f.form = form;
      if (form === 7) f.declared = int(r, 126);
      else if (form === 16) f.declared = pick(r, [int(r, 65536), f.payload.length, 126, 125, 0]);
      else {
        f.declared = pick(r, [
          f.payload.length, // non-minimal form, still valid
          int(r, 1 << 20),
          65537 + int(r, 100000), // over maxPayload
          2 ** 53 + int(r, 1000) * 2, // beyond 2^53 - 1
          2 ** 63 + int(r, 1 << 20) * 4096, // most significant bit set
          2 ** 32 + int(r, 1000),
        ]);
      }
      return;
    }
    case 'utf8': {
      const text = frames.filter((x) => x.opcode === 1 || x.opcode === 0);
      const t = text.length ? pick(r, text) : f;
      const bad = Uint8Array.from(pick(r, BAD_UTF8));
      const at = int(r, t.payload.length + 1);
      t.payload = Uint8Array.from([...t.payload.subarray(0, at), ...bad, ...t.payload.subarray(at)]);
      return;
    }
    case 'close': {
      const code = chance(r, 0.5) ? pick(r, ODD_CLOSE_CODES) : chance(r, 0.5) ? pick(r, CLOSE_CODES) : int(r, 65536);
      const reason = chance(r, 0.3) ? Uint8Array.from(pick(r, BAD_UTF8)) : Buffer.from(chance(r, 0.5) ? 'fin' : '');
      const body = chance(r, 0.1) ? Uint8Array.of(0x03) : Uint8Array.from([code >> 8, code & 255, ...reason]);
      frames.splice(int(r, frames.length + 1), 0, frame(r, 8, body));
      return;
    }
    case 'control': {
      const long = chance(r, 0.5);
      frames.splice(int(r, frames.length + 1), 0, {
        ...frame(r, pick(r, [8, 9, 10]), randomBytes(r, long ? 126 + int(r, 10) : int(r, 20))),
        fin: long || chance(r, 0.5),
      });
      return;
    }
    case 'reorder': {
      const i = int(r, frames.length);
      const j = int(r, frames.length);
      const op = int(r, 3);
      if (op === 0) frames.splice(i, 1);
      else if (op === 1) frames.splice(i, 0, { ...frames[j] });
      else [frames[i], frames[j]] = [frames[j], frames[i]];
      return;
    }
    case 'deflate': {
      const data = frames.filter((x) => x.opcode < 8 && x.payload.length > 0);
      const t = data.length ? pick(r, data) : f;
      if (deflate === 'off' || t.payload.length === 0) {
        t.rsv1 = true;
        return;
      }
      const p = Uint8Array.from(t.payload);
      for (let n = 1 + int(r, 3); n > 0; n--) p[int(r, p.length)] ^= 1 << int(r, 8);
      t.payload = p;
      return;
    }
  }
}

function mutateBytes(r: Rand, bytes: Uint8Array, kind: (typeof BYTEWISE)[number]): Uint8Array {
  if (bytes.length === 0) return randomBytes(r, 1 + int(r, 8));
  const b = Uint8Array.from(bytes);
  switch (kind) {
    case 'bitflip':
      for (let n = 1 + int(r, 4); n > 0; n--) b[int(r, b.length)] ^= 1 << int(r, 8);
      return b;
    case 'byte':
      b[int(r, b.length)] = int(r, 256);
      return b;
    case 'truncate':
      return b.subarray(0, int(r, b.length));
    case 'insert': {
      const at = int(r, b.length + 1);
      return Uint8Array.from([...b.subarray(0, at), ...randomBytes(r, 1 + int(r, 6)), ...b.subarray(at)]);
    }
  }
}

/** Case `id` of the run with seed `seed`: the same arguments always give the same case. */
export function makeCase(seedValue: number, id: number): FuzzCase {
  const r = rng((seedValue ^ Math.imul(id + 1, 0x9e3779b1)) >>> 0);
  const deflate = pick(r, ['off', 'on', 'nct'] as const);
  const frames = seed(r, deflate);
  const mutations: string[] = [];
  const count = chance(r, 0.05) ? 0 : 1 + int(r, chance(r, 0.7) ? 1 : 3);
  const structural: (typeof STRUCTURAL)[number][] = [];
  const bytewise: (typeof BYTEWISE)[number][] = [];
  for (let i = 0; i < count; i++) {
    if (chance(r, 0.65)) structural.push(pick(r, STRUCTURAL));
    else bytewise.push(pick(r, BYTEWISE));
  }
  for (const k of structural) {
    mutateFrames(r, frames, k, deflate);
    mutations.push(k);
  }
  let bytes = serialize(frames);
  for (const k of bytewise) {
    bytes = mutateBytes(r, bytes, k);
    mutations.push(k);
  }
  if (mutations.length === 0) mutations.push('seed');
  // Cut writes: separate TCP reads for ws, some of them while it inflates (then they queue in its
  // Receiver, a path that once crashed ws 8.23: sandbox-server/ws-receiver-fix.ts).
  const cuts = chance(r, 0.4) ? Array.from({ length: 1 + int(r, 6) }, () => int(r, bytes.length + 1)).sort((a, b) => a - b) : [];
  return { id, deflate, mutations, bytes, cuts, early: chance(r, 0.1) };
}

/** The case's bytes cut into its writes. */
export function pieces(c: FuzzCase): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const cut of c.cuts) {
    if (cut > at) out.push(c.bytes.subarray(at, cut));
    at = Math.max(at, cut);
  }
  if (at < c.bytes.length || out.length === 0) out.push(c.bytes.subarray(at));
  return out;
}
