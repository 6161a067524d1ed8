// The tap alone on a plain http server: attribution per request head, keep-alive switches
// between sessions, and a decoder exception that stays on its own connection.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveLimits } from '../limits.ts';
import { Session } from '../sessions.ts';
import { within } from '../test-helpers.ts';
import { ConnectionDecoder } from '../wire/connection-decoder.ts';
import { attachTap } from './connection-tap.ts';
import { noteText } from './notes.ts';
import type { Decoder } from './connection-tap.ts';

const A = 'A'.repeat(32);
const B = 'B'.repeat(32);
let server: Server | null = null;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = null;
});

function recordingSession(id: string): Session & { seen: any[] } {
  const s = new Session(id, '127.0.0.1', resolveLimits()) as Session & { seen: any[] };
  s.seen = [];
  s.emit = (e) => void s.seen.push(e);
  return s;
}

async function start(createDecoder?: () => Decoder) {
  const sessions = new Map([A, B].map((id) => [id, recordingSession(id)]));
  server = createServer((req, res) => res.end(`ok ${req.url}`));
  attachTap(server, { lookup: (id) => sessions.get(id), createDecoder });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { sessions, port: (server.address() as { port: number }).port };
}

/** Sends GETs one after the other on one keep-alive connection; returns the response texts. */
async function sequence(port: number, paths: string[]): Promise<string[]> {
  const socket: Socket = connect(port, '127.0.0.1');
  await within(once(socket, 'connect'), 5000, 'connect');
  const out: string[] = [];
  for (const path of paths) {
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    out.push(
      await within(
        new Promise<string>((resolve) => {
          let buf = '';
          const on = (d: Buffer) => {
            buf += d.toString();
            if (buf.includes(`ok ${path}`)) {
              socket.off('data', on);
              resolve(buf);
            }
          };
          socket.on('data', on);
        }),
        5000,
        `response to ${path}`,
      ),
    );
  }
  socket.end();
  await within(once(socket, 'close'), 5000, 'close');
  return out;
}

const until = (pred: () => boolean) =>
  within(
    new Promise<void>((r) => {
      const iv = setInterval(() => pred() && (clearInterval(iv), r()), 5);
    }),
    5000,
    'condition',
  );

describe('connection tap', () => {
  it('attributes a keep-alive connection per request head and switches sessions cleanly', async () => {
    const { sessions, port } = await start();
    const a = sessions.get(A)!;
    const b = sessions.get(B)!;
    const responses = await sequence(port, ['/index.html', `/s/${A}/match/poll?client=A`, `/s/${A}/x`, `/s/${B}/y`, '/api/other']);
    expect(responses).toHaveLength(5);
    await until(() => b.seen.some((e) => e.type === 'conn-close'));
    expect(a.seen.map((e) => e.type)).toEqual(['conn-open', 'http', 'http', 'http', 'http', 'conn-close']);
    expect(a.seen[0]).toMatchObject({ conn: 'c1', client: 'A', path: 'match/poll' });
    expect(a.seen[1].head.startsWith(`GET /s/${A}/match/poll?client=A HTTP/1.1`)).toBe(true);
    expect(a.seen.at(-1)).toMatchObject({ reason: 'reused' });
    expect(JSON.stringify(a.seen)).not.toContain(B);
    expect(JSON.stringify(a.seen)).not.toContain('index.html');
    expect(b.seen.map((e) => e.type)).toEqual(['conn-open', 'http', 'http', 'conn-close']);
    expect(b.seen[1].head.startsWith(`GET /s/${B}/y HTTP/1.1`)).toBe(true);
    expect(JSON.stringify(b.seen)).not.toContain('/api/other');
  });

  it('a decoder exception becomes a violation on that connection only; traffic is untouched', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    let made = 0;
    const { sessions, port } = await start(() => {
      const first = made++ === 0;
      const real = new ConnectionDecoder();
      return {
        push(from, chunk) {
          if (first && from === 'server') throw new Error('boom');
          return real.push(from, chunk);
        },
      };
    });
    const a = sessions.get(A)!;
    const [r1] = await sequence(port, [`/s/${A}/one`]);
    const [r2] = await sequence(port, [`/s/${A}/two`]);
    expect(r1).toContain(`ok /s/${A}/one`);
    expect(r2).toContain(`ok /s/${A}/two`);
    await until(() => a.seen.filter((e) => e.type === 'conn-close').length === 2);
    const violation = a.seen.find((e) => e.type === 'violation');
    expect(violation).toMatchObject({ conn: 'c1', from: 'server', id: 'SANDBOX_ERR_DECODER', code: 1011 });
    // The detail stays technical (English, like every violation's message; the page words the id)
    // and goes to the server's log with its stack.
    expect(violation.message).toMatch(/^internal decoder error \(boom\)/);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(String(logged.mock.calls[0][0])).toContain('c1');
    expect(logged.mock.calls[0][1]).toBeInstanceOf(Error);
    logged.mockRestore();
    expect(a.seen.filter((e) => e.conn === 'c2').map((e) => e.type)).toEqual(['conn-open', 'http', 'http', 'conn-close']);
    const close1 = a.seen.find((e) => e.type === 'conn-close' && e.conn === 'c1');
    expect(close1.bytesOut).toBe(Buffer.byteLength(r1));
  });

  it('a decoder note reaches the session in French, without its id, with its direction', async () => {
    const { sessions, port } = await start(() => {
      const real = new ConnectionDecoder();
      return {
        push(from, chunk) {
          const events = real.push(from, chunk);
          if (from === 'server')
            events.push({ type: 'info', note: 'INFLATE_OUTPUT_LIMIT', message: 'permessage-deflate: English detail', from });
          return events;
        },
      };
    });
    const a = sessions.get(A)!;
    await sequence(port, [`/s/${A}/note`]);
    await until(() => a.seen.some((e) => e.type === 'conn-close'));
    const notes = a.seen.filter((e) => e.type === 'info');
    expect(notes.length).toBeGreaterThan(0);
    expect(notes[0]).toEqual({ type: 'info', conn: 'c1', from: 'server', message: noteText('INFLATE_OUTPUT_LIMIT') });
    expect(notes[0].message).toMatch(/décompress/);
  });
});
