import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { constants, deflateRawSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { WebSocket, WebSocketServer } from 'ws';
import { ConnectionDecoder } from './connection-decoder.ts';
import type { DecodedEvent } from './connection-decoder.ts';
import { FrameDecoder } from './frame-decoder.ts';
import { INFLATE_INPUT_LIMIT } from './inflate.ts';
import { tappedServer } from './tap-harness.ts';
import { concatAll, toHex } from './test-util.ts';

type Sent = { data: string | Buffer; fragments?: number };

/** Runs a ws echo with permessage-deflate through the tap and decodes the captured bytes. */
async function echoThroughTap(pmd: object, sent: Sent[]): Promise<DecodedEvent[]> {
  const tap = await tappedServer();
  const wss = new WebSocketServer({ server: tap.server, perMessageDeflate: { threshold: 0, ...pmd } });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  const client = new WebSocket(`ws://127.0.0.1:${tap.port}/echo`, { perMessageDeflate: { threshold: 0, ...pmd } });
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  const echoed = new Promise<void>((resolve) => {
    let n = 0;
    client.on('message', () => ++n === sent.length && resolve());
  });
  for (const m of sent) {
    const parts = m.fragments ?? 1;
    const data = typeof m.data === 'string' ? Buffer.from(m.data) : m.data;
    const size = Math.ceil(data.length / parts);
    for (let i = 0; i < parts; i++) {
      client.send(data.subarray(i * size, (i + 1) * size), { binary: typeof m.data !== 'string', fin: i === parts - 1 });
    }
  }
  await echoed;
  client.close(1000, 'fini');
  await new Promise((resolve) => client.once('close', resolve));
  await tap.close();
  wss.close();
  expect(tap.connections).toHaveLength(1);
  const decoder = new ConnectionDecoder({ captureLimit: 1 << 20 });
  return tap.connections[0].flatMap(([from, chunk]) => decoder.push(from, chunk));
}

function sample(): Sent[] {
  const words = fc.sample(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), { numRuns: 20, seed: 42 });
  const sent: Sent[] = [];
  // Repetition across messages: with context takeover later messages refer back to earlier ones.
  for (let i = 0; i < 20; i++) sent.push({ data: `bonjour le monde, message ${i % 5} : ${words[i % 7]}` });
  sent.push({ data: 'é'.repeat(20000) + words.join('|'), fragments: 3 });
  sent.push({ data: randomBytes(50000) }); // beyond the 32 KiB window
  sent.push({ data: Buffer.from(words.join('').repeat(30)), fragments: 2 });
  sent.push({ data: `bonjour le monde, message 1 : ${words[1]}` });
  return sent;
}

function check(events: DecodedEvent[], sent: Sent[]): void {
  expect(events.filter((e) => e.type === 'violation' || e.type === 'info')).toEqual([]);
  for (const from of ['client', 'server'] as const) {
    const msgs = events.filter((e) => e.type === 'message' && e.from === from);
    expect(msgs).toHaveLength(sent.length);
    msgs.forEach((m, i) => {
      if (m.type !== 'message') return;
      const s = sent[i].data;
      expect(m.compressed).toBe(true);
      if (typeof s === 'string') expect(m.text).toBe(s);
      else expect(m.data).toBe(toHex(s));
      expect(m.length).toBe(Buffer.byteLength(s));
    });
    const firsts = events.filter((e) => e.type === 'frame' && e.from === from && (e.opcode === 1 || e.opcode === 2));
    expect(firsts.every((f) => f.type === 'frame' && f.rsv1)).toBe(true);
  }
}

describe('permessage-deflate against ws', () => {
  it('with context takeover (window kept across messages)', async () => {
    const sent = sample();
    const events = await echoThroughTap({}, sent);
    check(events, sent);
    // The repeated message must have been compressed against earlier ones: smaller than on its own.
    const last = events.filter((e) => e.type === 'frame' && e.from === 'server').at(-2);
    const alone = deflateRawSync(Buffer.from(sent.at(-1)!.data as string), { finishFlush: constants.Z_SYNC_FLUSH }).length - 4;
    expect(last?.type === 'frame' && last.length).toBeLessThan(alone);
  });

  it('without context takeover (server_ and client_no_context_takeover)', async () => {
    const sent = sample();
    const events = await echoThroughTap({ serverNoContextTakeover: true, clientNoContextTakeover: true }, sent);
    const head = events.find((e) => e.type === 'http' && e.from === 'server');
    expect(head?.type === 'http' && head.head).toMatch(/server_no_context_takeover/);
    check(events, sent);
  });
});

/** Frames one compressed message as an unmasked server frame. */
function compressedFrame(payload: Uint8Array, opcode = 2): Uint8Array {
  const z = deflateRawSync(payload, { finishFlush: constants.Z_SYNC_FLUSH });
  const body = z.subarray(0, z.length - 4);
  const n = body.length;
  const header =
    n < 126
      ? [0xc0 | opcode, n]
      : n < 65536
        ? [0xc0 | opcode, 126, n >> 8, n & 255]
        : [0xc0 | opcode, 127, 0, 0, 0, 0, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
  return concatAll([Uint8Array.from(header), body]);
}

describe('inflation bounds', () => {
  it('skips a message whose compressed size exceeds the bound, with a note', () => {
    const d = new FrameDecoder({ role: 'server', deflate: true, noContextTakeover: true });
    const big = compressedFrame(randomBytes(INFLATE_INPUT_LIMIT + 1000));
    const items = d.push(big);
    expect(items.map((i) => i.type)).toEqual(['frame', 'info', 'message']);
    expect(items[1]).toMatchObject({ type: 'info', note: 'INFLATE_INPUT_LIMIT' });
    expect(items[2]).toMatchObject({ compressed: true, truncated: true });
    expect(items[2]).not.toHaveProperty('data');
    // Without context takeover the next message still inflates.
    expect(d.push(compressedFrame(Buffer.from('ok'), 1))[1]).toMatchObject({ type: 'message', text: 'ok' });
  });

  it('with context takeover, a skipped message makes later ones undecodable (reported, not thrown)', () => {
    const d = new FrameDecoder({ role: 'server', deflate: true });
    d.push(compressedFrame(randomBytes(INFLATE_INPUT_LIMIT + 1000)));
    const items = d.push(compressedFrame(Buffer.from('ok'), 1));
    expect(items.map((i) => i.type)).toEqual(['frame', 'info', 'message']);
    expect(items[1]).toMatchObject({ type: 'info', note: 'INFLATE_HISTORY_LOST' });
  });

  it('stops a compression bomb at the output bound', () => {
    const d = new FrameDecoder({ role: 'server', deflate: true });
    const items = d.push(compressedFrame(new Uint8Array(40 << 20)));
    expect(items.map((i) => i.type)).toEqual(['frame', 'info', 'message']);
    expect(items[1]).toMatchObject({ type: 'info', note: 'INFLATE_OUTPUT_LIMIT' });
  });

  it('reports corrupt compressed data as 1007', () => {
    const d = new FrameDecoder({ role: 'server', deflate: true });
    const items = d.push(Uint8Array.from([0xc1, 0x03, 0xff, 0xff, 0xff]));
    expect(items.at(-1)).toMatchObject({ type: 'violation', id: 'WS_ERR_INFLATE', code: 1007 });
  });

  it('reports inflated text that is not UTF-8 as 1007', () => {
    const d = new FrameDecoder({ role: 'server', deflate: true });
    const items = d.push(compressedFrame(Uint8Array.from([0xc3, 0x28]), 1));
    expect(items.at(-1)).toMatchObject({ type: 'violation', id: 'WS_ERR_INFLATED_INVALID_UTF8', code: 1007 });
  });
});
