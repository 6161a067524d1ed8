// Oversized frames and bodies: lengths the server must refuse before it buffers them.
import { deflateRawSync } from 'node:zlib';
import type { Attack, AttackContext } from '../context.ts';
import { requestBytes } from '../context.ts';
import { clientFrame, frameHeader, OP } from '../raw.ts';

interface FrameCase {
  name: string;
  path: string;
  extraHead?: string;
  bytes: Buffer;
  /** Keep streaming this chunk after `bytes` until the server closes (an announced huge payload). */
  stream?: Buffer;
}

const MiB = 1024 * 1024;
const junk = Buffer.alloc(64 * 1024, 0x61);

function frameCases(id: string): FrameCase[] {
  // permessage-deflate: 16 MiB of zeros compress to a few KiB (a deflate bomb); the server must
  // stop inflating at its payload limit.
  const bomb = deflateRawSync(Buffer.alloc(16 * MiB));
  const deflate = 'Sec-WebSocket-Extensions: permessage-deflate\r\n';
  return [
    // 64-bit length with its top bit set (RFC 6455 §5.2: the most significant bit must be 0).
    { name: 'length 2^63', path: `/s/${id}/echo`, bytes: frameHeader(OP.binary, 0x8000000000000010n) },
    { name: 'length 2^40', path: `/s/${id}/echo`, bytes: frameHeader(OP.binary, 2n ** 40n), stream: junk },
    { name: 'length 2^53', path: `/s/${id}/echo`, bytes: frameHeader(OP.text, 2n ** 53n), stream: junk },
    { name: '70 KB text', path: `/s/${id}/echo`, bytes: clientFrame(OP.text, Buffer.alloc(70_000, 0x62)) },
    {
      name: '3 × 60 KB fragments',
      path: `/s/${id}/echo`,
      bytes: Buffer.concat([
        clientFrame(OP.text, Buffer.alloc(60_000, 0x63), false),
        clientFrame(OP.cont, Buffer.alloc(60_000, 0x63), false),
        clientFrame(OP.cont, Buffer.alloc(60_000, 0x63)),
      ]),
    },
    { name: 'ping of 126 bytes', path: `/s/${id}/echo`, bytes: clientFrame(OP.ping, Buffer.alloc(126, 0x70)) },
    { name: 'close of 200 bytes', path: `/s/${id}/echo`, bytes: clientFrame(OP.close, Buffer.alloc(200, 0x71)) },
    { name: 'deflate bomb', path: `/s/${id}/echo-deflate`, extraHead: deflate, bytes: clientFrame(OP.binary, bomb, true, 4) },
    {
      name: 'deflate bomb, fragmented',
      path: `/s/${id}/echo-deflate`,
      extraHead: deflate,
      bytes: Buffer.concat([
        clientFrame(OP.binary, bomb.subarray(0, bomb.length >> 1), false, 4),
        clientFrame(OP.cont, bomb.subarray(bomb.length >> 1)),
      ]),
    },
    {
      name: 'Socket.IO 2^62 frame',
      path: `/s/${id}/socket.io/?EIO=4&transport=websocket`,
      bytes: frameHeader(OP.text, 2n ** 62n),
      stream: junk,
    },
    { name: 'monitor 2^40 frame', path: `/api/sessions/${id}/monitor`, bytes: frameHeader(OP.text, 2n ** 40n), stream: junk },
  ];
}

/** Runs one case: connect, send, stream if asked (at most 8 MiB), wait for the server's answer. */
async function runFrameCase(ctx: AttackContext, ip: string, c: FrameCase): Promise<void> {
  const ws = await ctx.ws(ip, c.path, { extraHead: c.extraHead });
  if (!ws.open) return ws.destroy();
  ws.send(c.bytes);
  let streamed = 0;
  while (c.stream && ws.open && ctx.running && streamed < 8 * MiB) {
    streamed += c.stream.length;
    if (!ws.send(c.stream)) await ws.drained();
  }
  await Promise.race([ws.gone, ctx.sleep(1000)]);
  if (ws.open && !ctx.running) return ws.destroy();
  if (ws.open) ctx.answer(`no close for ${c.name}`);
  ws.destroy();
}

export const oversizedFrames: Attack = {
  name: 'oversized-frames',
  title:
    'frames over the limits: 64-bit lengths (2^63, 2^53, 2^40 streamed), 70 KB, 3 × 60 KB fragments, long control frames, deflate bombs; echo, Socket.IO, monitor',
  async run(ctx) {
    const ids = await ctx.createSessions(ctx.ip(), 4);
    if (ids.length === 0) return ctx.note('no session');
    let rounds = 0;
    await ctx.workers(ids.length, async (w) => {
      const cases = frameCases(ids[w]);
      for (let i = w; ctx.running; i++) {
        await runFrameCase(ctx, ctx.ip(), cases[i % cases.length]);
        rounds++;
      }
    });
    ctx.note(`${rounds} oversized frames`);
  },
};

interface BodyCase {
  name: string;
  head: Buffer;
  /** Streamed after the head until the server answers or closes (at most 8 MiB). */
  stream?: Buffer;
}

function bodyCases(id: string, sid: string | null): BodyCase[] {
  const big = (path: string, method = 'POST', extra: Record<string, string | number> = {}) =>
    requestBytes(method, path, { headers: { 'Content-Length': 1 << 30, 'Content-Type': 'text/plain', ...extra } });
  const chunked = (path: string) => requestBytes('POST', path, { headers: { 'Transfer-Encoding': 'chunked' } });
  const chunk = Buffer.concat([Buffer.from(`${(64 * 1024).toString(16)}\r\n`), junk, Buffer.from('\r\n')]);
  const cases: BodyCase[] = [
    { name: 'POST /api/sessions 1 GiB', head: big('/api/sessions'), stream: junk },
    { name: 'GET match/poll with 1 GiB body', head: big(`/s/${id}/match/poll`, 'GET'), stream: junk },
    { name: 'POST echo (426) 1 GiB', head: big(`/s/${id}/echo`), stream: junk },
    { name: 'POST static 1 GiB', head: big('/'), stream: junk },
    { name: 'chunked POST to Socket.IO handshake', head: chunked(`/s/${id}/socket.io/?EIO=4&transport=polling`), stream: chunk },
    { name: '20 KB header', head: requestBytes('GET', `/s/${id}/match/poll`, { headers: { 'X-Big': 'h'.repeat(20_000) } }) },
    { name: '100 KB URL', head: requestBytes('GET', `/s/${id}/match/poll?${'q'.repeat(100_000)}`) },
    { name: '10,000 headers', head: Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\n${'A: b\r\n'.repeat(10_000)}\r\n`) },
  ];
  if (sid) {
    cases.push({ name: 'polling POST 1 GiB', head: big(`/s/${id}/socket.io/?EIO=4&transport=polling&sid=${sid}`), stream: junk });
    cases.push({ name: 'polling POST chunked', head: chunked(`/s/${id}/socket.io/?EIO=4&transport=polling&sid=${sid}`), stream: chunk });
  }
  return cases;
}

async function runBodyCase(ctx: AttackContext, ip: string, c: BodyCase): Promise<void> {
  const s = ctx.dial(ip);
  let answered = false;
  s.once('data', (d: Buffer) => {
    answered = true;
    const m = /^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1', 0, 16));
    ctx.answer(m ? `http ${m[1]}` : 'data');
  });
  const gone = new Promise<void>((r) => s.once('close', () => r()));
  s.write(c.head);
  let streamed = 0;
  while (c.stream && ctx.running && !s.destroyed && !answered && streamed < 8 * MiB) {
    streamed += c.stream.length;
    if (!s.write(c.stream)) await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.race([gone, ctx.sleep(answered ? 50 : 1000)]);
  if (!answered && !s.destroyed && ctx.running) ctx.answer(`no answer to ${c.name}`);
  s.destroy();
}

export const oversizedBodies: Attack = {
  name: 'oversized-bodies',
  title:
    'bodies of 1 GiB announced (streamed up to 8 MiB), chunked bodies, 20 KB header, 100 KB URL, 10,000 headers, Socket.IO polling bodies',
  async run(ctx) {
    const ids = await ctx.createSessions(ctx.ip(), 3);
    if (ids.length === 0) return ctx.note('no session');
    let rounds = 0;
    await ctx.workers(ids.length, async (w) => {
      const id = ids[w];
      const open = await ctx.request(ctx.ip(), 'GET', `/s/${id}/socket.io/?EIO=4&transport=polling`);
      const sid = open?.status === 200 ? (/"sid":"([^"]+)"/.exec(open.body.toString())?.[1] ?? null) : null;
      const cases = bodyCases(id, sid);
      for (let i = w; ctx.running; i++) {
        await runBodyCase(ctx, ctx.ip(), cases[i % cases.length]);
        rounds++;
      }
    });
    ctx.note(`${rounds} oversized requests`);
  },
};
