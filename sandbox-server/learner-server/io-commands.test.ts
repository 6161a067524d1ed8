import { describe, expect, it } from 'vitest';
import {
  decodeArgs,
  MAX_ARGS_DEPTH,
  MAX_EVENT_NAME,
  MAX_ROOM_NAME,
  MAX_ROOMS_PER_COMMAND,
  parseAnyHostCommand,
  parseIoCommand,
} from './io-commands.ts';

const limits = { maxPayload: 64 };
const parse = (o: unknown) => parseIoCommand(typeof o === 'string' ? o : JSON.stringify(o), limits);
const refusal = (o: unknown) => {
  const r = parse(o);
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(o)}`);
  return r.refusal.id;
};

describe('Socket.IO host commands', () => {
  it('accepts well-formed commands and decodes binary placeholders into Buffers', () => {
    const emit = parse({ t: 'io-emit', s: 3, event: 'said', args: ['salut', { img: { _b64: 'AQID' } }], ack: 1, timeout: 200 });
    expect(emit.ok && emit.command).toEqual({ t: 'io-emit', s: 3, event: 'said', args: [], ack: 1, timeout: 200 });
    const args = emit.ok ? (emit.args ?? []) : [];
    expect(args[0]).toBe('salut');
    expect([...((args[1] as { img: Buffer }).img ?? [])]).toEqual([1, 2, 3]);
    expect(parse({ t: 'io-broadcast', nsp: '/', to: ['a'], except: ['b'], from: 2, event: 'x', args: [] })).toMatchObject({
      ok: true,
      command: { t: 'io-broadcast', nsp: '/', to: ['a'], except: ['b'], from: 2 },
    });
    expect(parse({ t: 'io-next', s: 1, error: { message: 'interdit', data: { code: 42 } } })).toEqual({
      ok: true,
      command: { t: 'io-next', s: 1, error: { message: 'interdit', data: { code: 42 } } },
    });
    expect(
      parse({
        t: 'io-attach',
        nsps: ['/admin'],
        options: { cors: { origin: ['https://a.example'], credentials: true }, pingInterval: 5, transports: ['websocket'] },
      }),
    ).toEqual({
      ok: true,
      command: {
        t: 'io-attach',
        nsps: ['/admin'],
        options: { cors: { origin: ['https://a.example'], credentials: true }, pingInterval: 5, transports: ['websocket'] },
      },
    });
    // Connection state recovery: socket.io's defaults filled in (the relay applies its bound).
    expect(parse({ t: 'io-attach', nsps: [], options: { connectionStateRecovery: {} } })).toEqual({
      ok: true,
      command: {
        t: 'io-attach',
        nsps: [],
        options: { connectionStateRecovery: { maxDisconnectionDuration: 120_000, skipMiddlewares: true } },
      },
    });
    expect(parse({ t: 'io-fetch', r: 4, nsp: '/' }).ok).toBe(true);
    expect(parse({ t: 'io-socket-disconnect', s: 4 })).toEqual({ ok: true, command: { t: 'io-socket-disconnect', s: 4, close: false } });
  });

  it('refuses each broken rule with its stable id, naming the socket when it can', () => {
    expect(refusal('{"t":"io-')).toBe('HOST_ERR_BAD_JSON');
    expect(refusal({ t: 'io-launch' })).toBe('HOST_ERR_UNKNOWN_COMMAND');
    expect(refusal({ t: 'io-emit', s: 0, event: 'x', args: [] })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-emit', s: 1, event: '', args: [] })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-emit', s: 1, event: 'e'.repeat(MAX_EVENT_NAME + 1), args: [] })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-emit', s: 1, event: 'disconnect', args: [] })).toBe('HOST_ERR_RESERVED_EVENT');
    expect(refusal({ t: 'io-emit', s: 1, event: 'x', args: 'pas une liste' })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-emit', s: 1, event: 'x', args: ['x'.repeat(64)] })).toBe('HOST_ERR_TOO_BIG');
    // Binary counts in bytes: 48 bytes as 64 base64 characters fit, 96 bytes do not.
    expect(parse({ t: 'io-emit', s: 1, event: 'x', args: [{ _b64: 'A'.repeat(64) }] }).ok).toBe(true);
    expect(refusal({ t: 'io-emit', s: 1, event: 'x', args: [{ _b64: 'A'.repeat(128) }] })).toBe('HOST_ERR_TOO_BIG');
    expect(refusal({ t: 'io-emit', s: 1, event: 'x', args: [{ _b64: 'A*==' }] })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-emit', s: 1, event: 'x', args: [], timeout: -1 })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-emit', s: 1, event: 'x', args: [], ack: 1.5 })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-join', s: 1, rooms: 'salle' })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-join', s: 1, rooms: ['r'.repeat(MAX_ROOM_NAME + 1)] })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-join', s: 1, rooms: Array.from({ length: MAX_ROOMS_PER_COMMAND + 1 }, (_, i) => `r${i}`) })).toBe(
      'HOST_ERR_BAD_FIELD',
    );
    expect(refusal({ t: 'io-broadcast', nsp: 'sans-slash', event: 'x', args: [] })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-broadcast', nsp: '/', to: [1], event: 'x', args: [] })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-next', s: 1, error: 'interdit' })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-attach', options: { cors: { origin: 'a\r\nb' } } })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-attach', options: { transports: ['carrier-pigeon'] } })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-attach', options: { pingInterval: 0 } })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-attach', options: { connectionStateRecovery: true } })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-attach', options: { connectionStateRecovery: { maxDisconnectionDuration: -1 } } })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-attach', options: { connectionStateRecovery: { skipMiddlewares: 'oui' } } })).toBe('HOST_ERR_BAD_FIELD');
    expect(refusal({ t: 'io-fetch', r: 'x', nsp: '/' })).toBe('HOST_ERR_BAD_FIELD');
    const r = parse({ t: 'io-emit', s: 7, event: 'connect', args: [] });
    expect(!r.ok && r.refusal.s).toBe(7);
  });

  it('bounds the nesting of arguments', () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_ARGS_DEPTH + 1; i++) deep = [deep];
    expect(() => decodeArgs([deep], 1 << 20)).toThrow(/imbriqués/);
    let fits: unknown = 1;
    for (let i = 0; i < MAX_ARGS_DEPTH - 2; i++) fits = { a: fits };
    expect(decodeArgs([fits], 1 << 20)).toEqual([fits]);
  });

  it('routes host messages: Socket.IO commands here, the others to commands.ts', () => {
    expect(parseAnyHostCommand('{"t":"io-close"}', { maxPayload: 16 })).toEqual({ ok: true, command: { t: 'io-close' } });
    expect(parseAnyHostCommand('{"x":1,"t":"io-close"}', { maxPayload: 16 })).toEqual({ ok: true, command: { t: 'io-close' } });
    expect(parseAnyHostCommand('{"t":"terminate","c":2}', { maxPayload: 16 })).toEqual({ ok: true, command: { t: 'terminate', c: 2 } });
    const unknown = parseAnyHostCommand('{"t":"nope"}', { maxPayload: 16 });
    expect(!unknown.ok && unknown.refusal.id).toBe('HOST_ERR_UNKNOWN_COMMAND');
  });
});
