import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isSendableCloseCode, parseHostCommand } from './commands.ts';

// ws's own rule for the codes its close() accepts (its package exports only its entry: found by path).
const requireHere = createRequire(import.meta.url);
const wsValidation = join(dirname(requireHere.resolve('ws')), 'lib', 'validation.js');
const wsIsValidStatusCode = (requireHere(wsValidation) as { isValidStatusCode(code: number): boolean }).isValidStatusCode;

const limits = { maxPayload: 16 };
const parse = (o: unknown) => parseHostCommand(typeof o === 'string' ? o : JSON.stringify(o), limits);
const refusal = (o: unknown) => {
  const r = parse(o);
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(o)}`);
  return r.refusal.id;
};

describe('host commands', () => {
  it('accepts well-formed commands and decodes their payloads', () => {
    const text = parse({ t: 'send', c: 3, binary: false, data: 'été' });
    expect(text.ok && text.payload?.toString()).toBe('été');
    const bin = parse({ t: 'send', c: 3, binary: true, data: 'AQID', b64: true });
    expect(bin.ok && [...(bin.payload ?? [])]).toEqual([1, 2, 3]);
    expect(parse({ t: 'accept', c: 1, protocol: 'chat' })).toEqual({ ok: true, command: { t: 'accept', c: 1, protocol: 'chat' } });
    expect(parse({ t: 'accept', c: 1, maxPayload: 4096 })).toEqual({ ok: true, command: { t: 'accept', c: 1, maxPayload: 4096 } });
    // 0 is ws's « no limit »: the command carries no maxPayload, the sandbox's limit applies.
    expect(parse({ t: 'accept', c: 1, maxPayload: 0 })).toEqual({ ok: true, command: { t: 'accept', c: 1 } });
    expect(parse({ t: 'close', c: 1, code: 4000, reason: 'fin' }).ok).toBe(true);
    expect(parse({ t: 'refuse', c: 1, status: 401, headers: { 'WWW-Authenticate': 'Bearer' } }).ok).toBe(true);
    expect(parse({ t: 'buffered', c: 2, q: 1030 })).toEqual({ ok: true, command: { t: 'buffered', c: 2, q: 1030 } });
  });

  it('refuses each broken rule with its stable id', () => {
    expect(refusal('{"t":')).toBe('HOST_ERR_BAD_JSON');
    expect(refusal([1])).toBe('HOST_ERR_BAD_JSON');
    expect(refusal({ t: 'eval', c: 1 })).toBe('HOST_ERR_UNKNOWN_COMMAND');
    expect(refusal({ t: 'send', c: -1, binary: false, data: '' })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'send', c: 1.5, binary: false, data: '' })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'send', c: 1, data: '' })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'buffered', c: 1 })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'buffered', c: 1, q: -1 })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'buffered', c: 1, q: 2 ** 60 })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'send', c: 1, binary: true, data: 'a'.repeat(17) })).toBe('HOST_ERR_TOO_BIG');
    expect(refusal({ t: 'send', c: 1, binary: true, data: 'é'.repeat(9) })).toBe('HOST_ERR_TOO_BIG');
    expect(refusal({ t: 'send', c: 1, binary: true, data: 'A'.repeat(24), b64: true })).toBe('HOST_ERR_TOO_BIG');
    expect(refusal({ t: 'send', c: 1, binary: true, data: 'A*==', b64: true })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'ping', c: 1, data: 'x'.repeat(126) })).toBe('HOST_ERR_TOO_BIG');
    expect(refusal({ t: 'close', c: 1, code: 1005 })).toBe('HOST_ERR_BAD_CLOSE_CODE');
    expect(refusal({ t: 'close', c: 1, reason: 'sans code' })).toBe('HOST_ERR_BAD_CLOSE_CODE');
    expect(refusal({ t: 'close', c: 1, code: 1000, reason: 'é'.repeat(62) })).toBe('HOST_ERR_TOO_BIG');
    expect(refusal({ t: 'refuse', c: 1, status: 200 })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'refuse', c: 1, status: 400, headers: { 'X-A': 'a\r\nSet-Cookie: x' } })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'refuse', c: 1, status: 400, headers: { 'Content-Length': '0' } })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'accept', c: 1, protocol: 7 })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'accept', c: 1, maxPayload: -1 })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'accept', c: 1, maxPayload: 1.5 })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'accept', c: 1, maxPayload: '1024' })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'accept', c: 1, maxPayload: 2 ** 60 })).toBe('HOST_ERR_BAD_FIELD');
  });

  it('allows exactly the close codes ws itself sends (ws is the oracle)', () => {
    const differ = Array.from({ length: 5100 }, (_, code) => code).filter(
      (code) => isSendableCloseCode(code) !== wsIsValidStatusCode(code),
    );
    expect(differ).toEqual([]);
  });

  it('knows which close codes an endpoint may send (RFC 6455 §7.4)', () => {
    expect([1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999].every(isSendableCloseCode)).toBe(true);
    expect([999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 1000.5].some(isSendableCloseCode)).toBe(false);
  });
});
