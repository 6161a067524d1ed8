import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VIOLATION_CODES } from '#protocol';
import { HEAD_LIMIT, HttpParser } from './http-head.ts';
import type { HttpParserItem } from './http-head.ts';
import { cutsArb, feed, textWithin } from './test-util.ts';

const enc = (s: string) => Uint8Array.from(Buffer.from(s));
const publicItems = (items: HttpParserItem[]) => items.filter((i) => i.type !== 'head');

function parse(kind: 'request' | 'response', wire: string, cuts: number[] = [], opts: { limit?: number; methods?: string[] } = {}) {
  const p = new HttpParser({ kind, captureLimit: opts.limit });
  for (const m of opts.methods ?? []) p.expect(m);
  return publicItems(feed((c) => p.push(c), enc(wire), cuts));
}

const POST = 'POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n40{"a":"é"}';

describe('heads and Content-Length bodies', () => {
  it('keeps the head exactly as on the wire and reads the body', () => {
    const items = parse('request', POST);
    expect(items).toEqual([
      {
        type: 'http',
        head: POST.slice(0, POST.indexOf('\r\n\r\n')),
        headLength: POST.indexOf('\r\n\r\n') + 4,
        body: '40{"a":"é"}',
        bodyLength: 12,
      },
    ]);
  });

  it('property: any split of pipelined messages gives the same items', () => {
    const wire = `GET / HTTP/1.1\r\nHost: x\r\n\r\n${POST}\r\n${POST}`;
    const whole = parse('request', wire);
    expect(whole).toHaveLength(3);
    fc.assert(
      fc.property(cutsArb, (cuts) => {
        expect(parse('request', wire, cuts)).toEqual(whole);
      }),
    );
  });

  it('cuts a long body at the capture limit and counts it all', () => {
    const body = 'é'.repeat(3000);
    const wire = `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const [item] = parse('response', wire, [100, 5000], { limit: 4097 });
    expect(item).toMatchObject({ body: textWithin(body, 4097), bodyLength: 6000, truncated: true });
  });

  it('ignores blank lines before a request and folds obsolete continuation lines', () => {
    const items = parse('request', '\r\n\r\nGET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n');
    expect(items).toEqual([{ type: 'http', head: 'GET / HTTP/1.1\r\nX: a\r\n b', headLength: 28 }]);
  });
});

describe('chunked bodies', () => {
  it('property: de-chunked content for any chunk sizes and splits; bodyLength counts wire bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), { maxLength: 8 }),
        cutsArb,
        fc.boolean(),
        (pieces, cuts, trailer) => {
          const chunks = pieces.map((s) => `${Buffer.byteLength(s).toString(16)};ext=1\r\n${s}\r\n`).join('');
          const end = `0\r\n${trailer ? 'X-T: 1\r\n' : ''}\r\n`;
          const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
          const wire = head + chunks + end + 'HTTP/1.1 204 No Content\r\n\r\n';
          const items = parse('response', wire, cuts, { limit: 50 });
          expect(items).toHaveLength(2);
          const body = pieces.join('');
          expect(items[0]).toMatchObject({ body: textWithin(body, 50), bodyLength: Buffer.byteLength(chunks + end) });
          expect((items[0] as { truncated?: boolean }).truncated === true).toBe(Buffer.byteLength(body) > 50);
          expect(items[1]).toMatchObject({ head: 'HTTP/1.1 204 No Content' });
        },
      ),
    );
  });

  it('reports a bad chunk size', () => {
    const items = parse('response', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    expect(items).toEqual([{ type: 'violation', id: 'HTTP_ERR_CHUNK_SIZE', code: 1002, message: expect.stringContaining('chunk size') }]);
  });

  it.each([
    { name: 'a chunk-size line over 1 KiB', body: `${'0'.repeat(1100)}\r\n`, id: 'HTTP_ERR_CHUNK_LINE_TOO_LONG' },
    { name: 'chunk data not followed by CRLF', body: '2\r\nokXX', id: 'HTTP_ERR_CHUNK_DATA_END' },
    {
      name: 'a trailer section over the head limit',
      body: `0\r\nX-T: ${'a'.repeat(HEAD_LIMIT)}\r\n\r\n`,
      id: 'HTTP_ERR_TRAILERS_TOO_LARGE',
    },
  ] as const)('reports $name with its id', ({ body, id }) => {
    const items = parse('response', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
    expect(items.filter((i) => i.type === 'violation')).toEqual([
      { type: 'violation', id, code: VIOLATION_CODES[id], message: expect.any(String) },
    ]);
  });
});

describe('responses without a body, and streamed bodies', () => {
  it('a response to HEAD has no body despite Content-Length', () => {
    const wire = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    const items = parse('response', wire, [], { methods: ['HEAD', 'GET'] });
    expect(items).toHaveLength(2);
    expect(items[0]).not.toHaveProperty('body');
    expect(items[1]).toMatchObject({ body: 'ok' });
  });

  it('1xx, 204 and 304 have no body; 100 Continue does not consume the pending request', () => {
    const wire = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n';
    const items = parse('response', wire);
    expect(items.map((i) => i.type === 'http' && i.head.split('\r\n')[0])).toEqual([
      'HTTP/1.1 100 Continue',
      'HTTP/1.1 304 Not Modified',
      'HTTP/1.1 204 No Content',
    ]);
    expect(items.every((i) => !('body' in i))).toBe(true);
  });

  it('streams Server-Sent Events live, chunk by chunk', () => {
    const p = new HttpParser({ kind: 'response' });
    const first = p.push(enc('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n'));
    expect(publicItems(first)).toEqual([
      { type: 'http', head: expect.stringContaining('text/event-stream'), headLength: expect.any(Number) },
    ]);
    expect(p.push(enc('f\r\ndata: bonjour\n\n\r\n'))).toEqual([{ type: 'http-body', text: 'data: bonjour\n\n', length: 15 }]);
    const euro = Buffer.from('data: €\n\n');
    // A character split across two TCP chunks still shows whole.
    expect(p.push(Uint8Array.from([...Buffer.from('b\r\n'), ...euro.subarray(0, 7)]))).toEqual([
      { type: 'http-body', text: 'data: ', length: 7 },
    ]);
    expect(p.push(Uint8Array.from([...euro.subarray(7), 0x0d, 0x0a]))).toEqual([{ type: 'http-body', text: '€\n\n', length: 4 }]);
  });

  it('streams a response without length until the connection ends', () => {
    const p = new HttpParser({ kind: 'response', captureLimit: 4 });
    const items = publicItems(p.push(enc('HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nabcdef')));
    expect(items).toEqual([
      { type: 'http', head: 'HTTP/1.0 200 OK\r\nConnection: close', headLength: 38 },
      { type: 'http-body', text: 'abcd', length: 6, truncated: true },
    ]);
  });

  it('a request without length has no body', () => {
    const items = parse('request', 'DELETE /x HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n');
    expect(items).toHaveLength(2);
  });
});

describe('upgrades, limits and errors', () => {
  it('stops after an upgrade request and hands over the rest', () => {
    const p = new HttpParser({ kind: 'request' });
    const items = p.push(Uint8Array.from([...enc('GET /echo HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'), 0x81, 0x80]));
    expect(items.map((i) => i.type)).toEqual(['head', 'http', 'upgrade']);
    expect(items[2]).toEqual({ type: 'upgrade', rest: Uint8Array.from([0x81, 0x80]) });
    expect(p.push(enc('GET / HTTP/1.1\r\n\r\n'))).toEqual([]);
  });

  it('stops after a 101 response', () => {
    const items = new HttpParser({ kind: 'response' }).push(enc('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'));
    expect(items.map((i) => i.type)).toEqual(['head', 'http', 'upgrade']);
  });

  it(`a head over ${HEAD_LIMIT} bytes is a violation, then the parser stops`, () => {
    const p = new HttpParser({ kind: 'request' });
    const items = feed((c) => p.push(c), enc(`GET / HTTP/1.1\r\nX: ${'a'.repeat(HEAD_LIMIT)}\r\n\r\n`), [1000, 9000]);
    expect(items).toEqual([{ type: 'violation', id: 'HTTP_ERR_HEAD_TOO_LARGE', code: 1009, message: expect.any(String) }]);
    expect(p.failed).toBe(true);
    expect(p.push(enc('GET / HTTP/1.1\r\n\r\n'))).toEqual([]);
  });

  it.each([
    ['request', 'GET /\r\n\r\n', 'HTTP_ERR_REQUEST_LINE'],
    ['request', 'G@T / HTTP/1.1\r\n\r\n', 'HTTP_ERR_REQUEST_LINE'],
    ['request', 'GET / HTTP/1.1\r\nno colon\r\n\r\n', 'HTTP_ERR_HEADER_LINE'],
    ['request', 'POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n', 'HTTP_ERR_CONTENT_LENGTH'],
    ['request', 'POST / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n', 'HTTP_ERR_CONTENT_LENGTH'],
    ['request', 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', 'HTTP_ERR_TRANSFER_ENCODING'],
    ['response', 'HTTP/1.1 abc\r\n\r\n', 'HTTP_ERR_STATUS_LINE'],
  ] as const)('malformed %s → 1002: %j', (kind, wire, id) => {
    expect(parse(kind, wire)).toEqual([{ type: 'violation', id, code: 1002, message: expect.any(String) }]);
  });

  it('never throws on random bytes', () => {
    const httpish = fc
      .array(
        fc.constantFrom(
          'GET / HTTP/1.1',
          'HTTP/1.1 200 OK',
          'Content-Length: 3',
          'Transfer-Encoding: chunked',
          '\r\n',
          '\n',
          'a',
          '3\r\n',
          '0',
          ':',
          ' ',
        ),
        { maxLength: 40 },
      )
      .map((a) => enc(a.join('')));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), httpish), cutsArb, fc.boolean(), (data, cuts, req) => {
        const p = new HttpParser({ kind: req ? 'request' : 'response', captureLimit: 8 });
        const items = feed((c) => p.push(c), data, cuts);
        expect(items.filter((i) => i.type === 'violation').length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  });
});
