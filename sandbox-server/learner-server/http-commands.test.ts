import { describe, expect, it } from 'vitest';
import {
  checkResponseHeaders,
  isHttpCommand,
  isSendableStatus,
  MAX_RESPONSE_HEADERS,
  parseHostMessage,
  parseHttpCommand,
} from './http-commands.ts';

const limits = { maxPayload: 16 };
const parse = (o: unknown) => parseHttpCommand(typeof o === 'string' ? o : JSON.stringify(o), limits);
const refusal = (o: unknown) => {
  const r = parse(o);
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(o)}`);
  return r.refusal.id;
};

describe('host HTTP commands', () => {
  it('accepts well-formed commands and decodes their payloads', () => {
    expect(parse({ t: 'http-head', r: 4, status: 200, headers: { 'Content-Type': 'text/plain', 'Set-Cookie': ['a=1', 'b=2'] } })).toEqual({
      ok: true,
      command: { t: 'http-head', r: 4, status: 200, headers: { 'Content-Type': 'text/plain', 'Set-Cookie': ['a=1', 'b=2'] } },
    });
    const implicit = parse({ t: 'http-head', r: 4, status: 404, message: 'Introuvable', headers: {}, implicit: true, flush: true });
    expect(implicit.ok && implicit.command).toEqual({
      t: 'http-head',
      r: 4,
      status: 404,
      message: 'Introuvable',
      headers: {},
      implicit: true,
      flush: true,
    });
    const text = parse({ t: 'http-write', r: 4, data: 'été' });
    expect(text.ok && text.payload?.toString()).toBe('été');
    const bin = parse({ t: 'http-end', r: 4, data: 'AQID', b64: true });
    expect(bin.ok && [...(bin.payload ?? [])]).toEqual([1, 2, 3]);
    const bare = parse({ t: 'http-end', r: 4 });
    expect(bare.ok && bare.payload?.length).toBe(0);
    expect(parse({ t: 'http-end', r: 4, destroy: true })).toEqual({ ok: true, command: { t: 'http-end', r: 4, destroy: true } });
    // Connection and Transfer-Encoding: only what Node honours.
    expect(parse({ t: 'http-head', r: 1, status: 200, headers: { Connection: 'keep-alive', 'Transfer-Encoding': 'chunked' } }).ok).toBe(
      true,
    );
    expect(parse({ t: 'http-head', r: 1, status: 103, headers: {} }).ok).toBe(true);
  });

  it('refuses each broken rule with its stable id', () => {
    expect(refusal('{"t":')).toBe('HOST_ERR_BAD_JSON');
    expect(refusal([1])).toBe('HOST_ERR_BAD_JSON');
    expect(refusal({ t: 'http-trailers', r: 1 })).toBe('HOST_ERR_UNKNOWN_COMMAND');
    expect(refusal({ t: 'http-head', r: 0, status: 200, headers: {} })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'http-head', r: '1', status: 200, headers: {} })).toBe('HOST_ERR_BAD_FIELD');
    for (const status of [99, 101, 600, 200.5, '200', undefined])
      expect(refusal({ t: 'http-head', r: 1, status, headers: {} })).toBe('HOST_ERR_BAD_STATUS');
    expect(refusal({ t: 'http-head', r: 1, status: 200, message: 'a\r\nb', headers: {} })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'http-head', r: 1, status: 200, headers: {}, implicit: 'yes' })).toBe('HOST_ERR_BAD_FIELD');
    const head = (headers: unknown) => refusal({ t: 'http-head', r: 1, status: 200, headers });
    expect(head({ 'X-A': 'a\r\nSet-Cookie: x=1' })).toBe('HOST_ERR_BAD_HEADER');
    expect(head({ 'X-A': 'a\nb' })).toBe('HOST_ERR_BAD_HEADER');
    expect(head({ 'X-A': '€' })).toBe('HOST_ERR_BAD_HEADER');
    expect(head({ 'Mauvais nom': 'x' })).toBe('HOST_ERR_BAD_HEADER');
    expect(head({ 'X-A': 1 })).toBe('HOST_ERR_BAD_HEADER');
    expect(head({ 'X-A': [] })).toBe('HOST_ERR_BAD_HEADER');
    expect(head({ 'X-A': 'a', 'x-a': 'b' })).toBe('HOST_ERR_BAD_HEADER');
    expect(head({ Upgrade: 'websocket' })).toBe('HOST_ERR_BAD_HEADER');
    expect(head({ 'Keep-Alive': 'timeout=5' })).toBe('HOST_ERR_BAD_HEADER');
    expect(head({ Connection: 'upgrade' })).toBe('HOST_ERR_BAD_HEADER');
    expect(head({ 'Transfer-Encoding': 'gzip' })).toBe('HOST_ERR_BAD_HEADER');
    expect(head({ 'Content-Length': 'douze' })).toBe('HOST_ERR_BAD_HEADER');
    expect(head({ 'Content-Length': ['1', '1'] })).toBe('HOST_ERR_BAD_HEADER');
    expect(head([['X-A', 'a']])).toBe('HOST_ERR_BAD_HEADER');
    expect(head({ 'X-A': 'a'.repeat(17_000) })).toBe('HOST_ERR_BAD_HEADER');
    expect(head(Object.fromEntries(Array.from({ length: MAX_RESPONSE_HEADERS + 1 }, (_, i) => [`X-${i}`, 'v'])))).toBe(
      'HOST_ERR_BAD_HEADER',
    );
    expect(refusal({ t: 'http-write', r: 1 })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'http-write', r: 1, data: 'a'.repeat(17) })).toBe('HOST_ERR_TOO_BIG');
    expect(refusal({ t: 'http-write', r: 1, data: 'é'.repeat(9) })).toBe('HOST_ERR_TOO_BIG');
    expect(refusal({ t: 'http-write', r: 1, data: 'A'.repeat(24), b64: true })).toBe('HOST_ERR_TOO_BIG');
    expect(refusal({ t: 'http-write', r: 1, data: 'A*==', b64: true })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'http-write', r: 1, data: 'x', b64: 'non' })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'http-end', r: 1, b64: true })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'http-end', r: 1, destroy: true, data: 'x' })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'http-end', r: 1, destroy: 1 })).toBe('HOST_ERR_BAD_FIELD');
  });

  it('statuses and headers as Node and the sandbox take them', () => {
    expect([100, 103, 200, 204, 304, 418, 599].every(isSendableStatus)).toBe(true);
    expect([101, 99, 600, 999, 200.1].some(isSendableStatus)).toBe(false);
    expect(checkResponseHeaders({ 'X-Café': 'x' })).toMatch(/jeton HTTP/);
    expect(checkResponseHeaders({ 'X-A': 'café' })).toEqual({ 'X-A': 'café' });
  });

  it('routes any host message to its parser (HTTP, Socket.IO, ws), whatever the key order', () => {
    const http = parseHostMessage('{"t":"http-end","r":3}', { maxPayload: 16 });
    expect(http.ok && isHttpCommand(http.command)).toBe(true);
    const reordered = parseHostMessage('{"r":3,"t":"http-end"}', { maxPayload: 16 });
    expect(reordered.ok && reordered.command.t).toBe('http-end');
    const ws = parseHostMessage('{"t":"terminate","c":3}', { maxPayload: 16 });
    expect(ws.ok && isHttpCommand(ws.command)).toBe(false);
    const io = parseHostMessage('{"t":"io-close"}', { maxPayload: 16 });
    expect(io.ok && io.command.t).toBe('io-close');
    const unknown = parseHostMessage('{"t":"http-x","r":3}', { maxPayload: 16 });
    expect(!unknown.ok && unknown.refusal.id).toBe('HOST_ERR_UNKNOWN_COMMAND');
  });
});
