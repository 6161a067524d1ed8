import { describe, expect, it } from 'vitest';
import { clientMapOf, countMatches, evaluateCheck, matchNumber, matchText, type Check } from './checks.ts';
import { checkSchema } from './schema.ts';
import { ECHO_RUN } from './fixtures.test-data.ts';
import type { MonitorEvent } from '#protocol';

describe('matchers', () => {
  it('compares numbers and bounds', () => {
    expect(matchNumber(5, 5)).toBe(true);
    expect(matchNumber(5, { gt: 4, lte: 5 })).toBe(true);
    expect(matchNumber(5, { gt: 5 })).toBe(false);
    expect(matchNumber(undefined, { gte: 0 })).toBe(false);
  });
  it('asks the server console for lines (serverLog)', () => {
    const check: Check = {
      id: 'log',
      label: 'Le serveur note la connexion',
      expect: { type: 'frame' },
      serverLog: [{ includes: 'connexion' }, { regex: '^salon \\d+$' }],
    };
    expect(evaluateCheck(check, ECHO_RUN, ['connexion de A', 'salon 1'])).toMatchObject({ passed: true, missingLogs: [] });
    expect(evaluateCheck(check, ECHO_RUN, ['connexion de A'])).toMatchObject({ passed: false, missingLogs: [1] });
    expect(evaluateCheck(check, ECHO_RUN)).toMatchObject({ passed: false, missingLogs: [0, 1] });
  });
  it('forbids server console lines (serverLogNone)', () => {
    const check: Check = {
      id: 'error',
      label: 'Le serveur écoute error',
      expect: { type: 'frame' },
      serverLog: { regex: '^(?!\\[bac à sable\\]).*WS_ERR_' },
      serverLogNone: { includes: 'sans écouteur' },
    };
    expect(evaluateCheck(check, ECHO_RUN, ['refusé : WS_ERR_X'])).toMatchObject({ passed: true, forbiddenLogs: [] });
    // The sandbox's note names the code too, but it is not the server code's line, and it is forbidden.
    const note = '[bac à sable] Évènement « error » sans écouteur sur une connexion : RangeError (WS_ERR_X).';
    expect(evaluateCheck(check, ECHO_RUN, [note])).toMatchObject({ passed: false, missingLogs: [0], forbiddenLogs: [0] });
    expect(evaluateCheck(check, ECHO_RUN, ['WS_ERR_X', note])).toMatchObject({ passed: false, missingLogs: [], forbiddenLogs: [0] });
  });
  it('matches a frame payload in hex (payload): a frame that ends inside a UTF-8 sequence', () => {
    // The fixture's server text frame, made a non-final fragment carrying `payload`.
    const serverFrame = ECHO_RUN.find((e) => e.type === 'frame' && e.from === 'server');
    const frame = (payload: string) =>
      ({ ...serverFrame, fin: false, length: payload.length / 2, payload, text: undefined }) as MonitorEvent;
    const inside = {
      payload: {
        regex: '^(?:[0-9a-f]{2})*?(?:[c-f][0-9a-f]|e[0-9a-f][89ab][0-9a-f]|f[0-7][89ab][0-9a-f]|f[0-7][89ab][0-9a-f][89ab][0-9a-f])$',
      },
    };
    // 'Salut 😀' cut after f0, or after f0 9f 98; é (c3 a9) cut after c3.
    for (const p of ['7420f0', '53f09f98', 'c3']) expect(countMatches([frame(p)], inside), p).toBe(1);
    // Whole characters: ASCII, é, €, 😀, and a frame that starts with the end of a character.
    for (const p of ['5361', 'c3a9', 'e282ac', '20f09f9880', '9f9880', '0f00']) expect(countMatches([frame(p)], inside), p).toBe(0);
    // Only frames have a payload.
    expect(countMatches([{ seq: 2, t: 0, type: 'info', message: 'f0' } as MonitorEvent], { payload: { includes: 'f0' } })).toBe(0);
  });
  it('matches a violation by its stable id', () => {
    const violation = {
      seq: 1,
      t: 0,
      type: 'violation',
      conn: 'c1',
      from: 'client',
      id: 'WS_ERR_UNMASKED_CLIENT_FRAME',
      code: 1002,
      message: 'client frame is not masked',
    } as MonitorEvent;
    expect(countMatches([violation], { violation: 'WS_ERR_UNMASKED_CLIENT_FRAME' })).toBe(1);
    expect(countMatches([violation], { violation: 'WS_ERR_RESERVED_OPCODE' })).toBe(0);
    expect(countMatches(ECHO_RUN, { violation: 'WS_ERR_UNMASKED_CLIENT_FRAME' })).toBe(0);
  });
  it('compares text by equality, substring and regex', () => {
    expect(matchText('Hello', 'Hello')).toBe(true);
    expect(matchText('Hello', { includes: 'ell' })).toBe(true);
    expect(matchText('Hello', { regex: '^H.*o$' })).toBe(true);
    expect(matchText('Hello', { regex: '^h' })).toBe(false);
    expect(matchText(undefined, 'x')).toBe(false);
  });
  it('matches frames by direction, opcode, mask and text', () => {
    expect(countMatches(ECHO_RUN, { type: 'frame', from: 'client', opcode: 1, masked: true, text: 'Hello' })).toBe(1);
    expect(countMatches(ECHO_RUN, { type: 'frame', text: 'Hello' })).toBe(2);
    expect(countMatches(ECHO_RUN, { type: 'frame', from: 'server', masked: true })).toBe(0);
    expect(countMatches(ECHO_RUN, { type: 'frame', lengthForm: 7, length: { lt: 10 } })).toBe(3);
  });
  it('resolves client labels through conn-open events', () => {
    expect(countMatches(ECHO_RUN, { type: 'frame', client: 'A' })).toBe(3);
    expect(countMatches(ECHO_RUN, { client: 'B' })).toBe(2);
    expect(countMatches(ECHO_RUN, { type: 'conn-open', client: 'B' })).toBe(1);
  });
  it('matches close codes, heads, Engine.IO and Socket.IO packets', () => {
    expect(countMatches(ECHO_RUN, { opcode: 8, code: 1000 })).toBe(1);
    expect(countMatches(ECHO_RUN, { type: 'http', head: { includes: '101 Switching' } })).toBe(1);
    expect(countMatches(ECHO_RUN, { type: 'eio', packet: 'message', sio: { event: 'say', nsp: '/' } })).toBe(1);
    expect(countMatches(ECHO_RUN, { sio: { event: 'said' } })).toBe(0);
    expect(countMatches(ECHO_RUN, { type: 'conn-close', reason: 'end' })).toBe(1);
  });
});

describe('gap: time between events', () => {
  // One client reconnecting: handshake requests (http from client) and connection ends (conn-close).
  let seq = 0;
  const open = (t: number, conn: string): MonitorEvent[] => [
    { seq: ++seq, t, type: 'conn-open', conn, client: 'A', remote: '127.0.0.1:1', path: 'panne' },
    { seq: ++seq, t, type: 'http', conn, from: 'client', head: 'GET /s/x/panne?client=A HTTP/1.1\r\nUpgrade: websocket', headLength: 60 },
  ];
  const close = (t: number, conn: string): MonitorEvent => ({
    seq: ++seq,
    t,
    type: 'conn-close',
    conn,
    reason: 'end',
    bytesIn: 0,
    bytesOut: 0,
  });
  const handshake = { type: 'http', from: 'client', head: { includes: 'Upgrade: websocket' } } as const;
  // Closes at 400, 520, 900, 1700; the next handshakes 100, 300 and 700 ms after each close.
  const run = [
    ...open(0, 'c1'),
    close(400, 'c1'),
    ...open(500, 'c2'),
    close(520, 'c2'),
    ...open(820, 'c3'),
    close(900, 'c3'),
    ...open(1600, 'c4'),
    close(1700, 'c4'),
  ];

  it('measures from the previous event matching the same fields', () => {
    // Handshake to handshake: 500, 320, 780 ms.
    expect(countMatches(run, { ...handshake, gap: { gte: 0 } })).toBe(3);
    expect(countMatches(run, { ...handshake, gap: { gt: 700 } })).toBe(1);
    expect(countMatches(run, { ...handshake, gap: 320 })).toBe(1);
    // The first one has nothing before it: it never matches, whatever the bound.
    expect(countMatches(run.slice(0, 3), { ...handshake, gap: { gte: 0 } })).toBe(0);
  });
  it('measures from the latest event matching since', () => {
    const fromClose = { ...handshake, since: { type: 'conn-close', client: 'A' } } as const;
    expect(countMatches(run, { ...fromClose, gap: { gte: 0 } })).toBe(3);
    expect(countMatches(run, { ...fromClose, gap: { lt: 150 } })).toBe(1);
    expect(countMatches(run, { ...fromClose, gap: { gt: 600 } })).toBe(1);
    // since on another client: no starting point, no match.
    expect(countMatches(run, { ...handshake, gap: { gte: 0 }, since: { type: 'conn-close', client: 'B' } })).toBe(0);
  });
  it('tells growing delays from a fixed delay and from an immediate loop', () => {
    const backoff: Check = {
      id: 'backoff',
      label: 'Espacer les tentatives',
      expect: [
        { ...handshake, since: { type: 'conn-close' }, gap: { lt: 150 } },
        { ...handshake, since: { type: 'conn-close' }, gap: { gt: 600 } },
      ],
    };
    expect(evaluateCheck(backoff, run).passed).toBe(true);
    const fixed = (delay: number) => {
      const events: MonitorEvent[] = [];
      for (let i = 0, t = 0; i < 6; i++, t += 20 + delay) events.push(...open(t, `f${i}`), close(t + 20, `f${i}`));
      return events;
    };
    expect(evaluateCheck(backoff, fixed(0)).passed).toBe(false);
    expect(evaluateCheck(backoff, fixed(100)).passed).toBe(false);
    expect(evaluateCheck(backoff, fixed(1000)).passed).toBe(false);
  });
  it('forgets the starting point at an event matching unless', () => {
    // Handshake to handshake with no close in between: none here (each handshake follows a close)…
    const noCloseBetween = { ...handshake, since: handshake, gap: { gte: 0 }, unless: { type: 'conn-close' } } as const;
    expect(countMatches(run, noCloseBetween)).toBe(0);
    // … but a reconnection that opens a second connection while the first still lives matches.
    const leaky = [...open(0, 'l1'), ...open(300, 'l2'), close(900, 'l1'), ...open(1000, 'l3')];
    expect(countMatches(leaky, noCloseBetween)).toBe(1);
    expect(countMatches(leaky, { ...handshake, since: handshake, gap: { gte: 0 } })).toBe(2);
    // An unless event before the since event does not erase the later starting point.
    const closeFirst = [close(0, 'z0'), ...open(10, 'z1'), ...open(20, 'z2')];
    expect(countMatches(closeFirst, noCloseBetween)).toBe(1);
  });
  it('unless covers the judged event itself: a first message that must be the authentication', () => {
    const msg = (t: number, text: string): MonitorEvent => ({
      seq: ++seq,
      t,
      type: 'message',
      conn: 'm1',
      from: 'client',
      opcode: 1,
      length: text.length,
      text,
      frames: 1,
      compressed: false,
    });
    const beforeAuth = {
      type: 'message',
      from: 'client',
      since: handshake,
      gap: { gte: 0 },
      unless: { type: 'message', text: { includes: '"auth"' } },
    } as const;
    expect(countMatches([...open(0, 'm1'), msg(10, '{"type":"auth"}'), msg(20, 'bonjour')], beforeAuth)).toBe(0);
    expect(countMatches([...open(0, 'm1'), msg(10, 'bonjour'), msg(20, '{"type":"auth"}')], beforeAuth)).toBe(1);
  });
  it('keeps measuring in none after a first hit', () => {
    const r = evaluateCheck({ id: 'n', label: 'n', expect: handshake, none: { ...handshake, gap: { lt: 400 } } }, run);
    expect(r).toEqual({ passed: false, missing: [], forbidden: [0], missingLogs: [], forbiddenLogs: [] });
  });
});

describe('checks', () => {
  const check: Check = {
    id: 'echo',
    label: 'Recevoir l’écho',
    expect: [
      { type: 'frame', from: 'server', text: 'Hello' },
      { type: 'frame', opcode: 8 },
    ],
  };
  it('passes when every expect matcher is satisfied', () => {
    expect(evaluateCheck(check, ECHO_RUN).passed).toBe(true);
    expect(evaluateCheck(check, ECHO_RUN.slice(0, 6))).toEqual({
      passed: false,
      missing: [1],
      forbidden: [],
      missingLogs: [],
      forbiddenLogs: [],
    });
  });
  it('honours count', () => {
    expect(evaluateCheck({ ...check, expect: { type: 'frame', text: 'Hello', count: 2 } }, ECHO_RUN).passed).toBe(true);
    expect(evaluateCheck({ ...check, expect: { type: 'frame', text: 'Hello', count: 3 } }, ECHO_RUN).passed).toBe(false);
  });
  it('fails when a none matcher matches', () => {
    const r = evaluateCheck({ ...check, none: [{ type: 'violation' }, { type: 'frame', from: 'client', masked: true }] }, ECHO_RUN);
    expect(r).toEqual({ passed: false, missing: [], forbidden: [1], missingLogs: [], forbiddenLogs: [] });
  });
  it('validates declarations (schema.ts; messages tested in schema.test.ts)', () => {
    expect(checkSchema.safeParse(check).success).toBe(true);
    expect(checkSchema.safeParse({ id: 'x', label: 'y', expect: { tpye: 'frame' } }).success).toBe(false);
    expect(checkSchema.safeParse({ id: 'x', expect: {} }).success).toBe(false);
    for (const key of ['text', 'reason', 'head']) {
      expect(checkSchema.safeParse({ id: 'x', label: 'y', expect: { [key]: { regex: '(' } } }).success, key).toBe(false);
    }
  });
});

describe('client labels across shared keep-alive connections', () => {
  it('labels polling requests and Engine.IO sessions by their own client parameter', () => {
    const events = [
      { seq: 1, t: 0, type: 'conn-open', conn: 'c1', client: 'B', remote: 'r', path: 'socket.io/' },
      {
        seq: 2,
        t: 0,
        type: 'http',
        conn: 'c1',
        from: 'client',
        head: 'GET /s/x/socket.io/?client=A&EIO=4&transport=polling HTTP/1.1\r\nHost: h',
        headLength: 10,
      },
      {
        seq: 3,
        t: 0,
        type: 'eio',
        conn: 'c1',
        from: 'server',
        transport: 'polling',
        packet: 'open',
        data: '{"sid":"S1","upgrades":["websocket"]}',
      },
      {
        seq: 4,
        t: 0,
        type: 'http',
        conn: 'c1',
        from: 'client',
        head: 'POST /s/x/socket.io/?client=B&EIO=4&transport=polling&sid=S2 HTTP/1.1',
        headLength: 10,
      },
      {
        seq: 5,
        t: 0,
        type: 'eio',
        conn: 'c9',
        from: 'client',
        transport: 'websocket',
        sid: 'S1',
        packet: 'message',
        sio: { type: 2, typeName: 'EVENT', nsp: '/', event: 'join' },
      },
    ] as MonitorEvent[];
    expect(countMatches(events, { type: 'eio', client: 'A', sio: { event: 'join' } })).toBe(1);
    expect(countMatches(events, { type: 'eio', client: 'A', packet: 'open' })).toBe(1);
    expect(countMatches(events, { type: 'http', client: 'A' })).toBe(1);
    expect(countMatches(events, { type: 'http', client: 'B' })).toBe(1);
    expect(clientMapOf(events).get('sid:S2')).toBe('B');
    const connect = {
      seq: 6,
      t: 0,
      type: 'eio',
      conn: 'c1',
      from: 'server',
      transport: 'polling',
      sid: 'S1',
      packet: 'message',
      sio: { type: 0, typeName: 'CONNECT', nsp: '/', data: { sid: 'sock-1' } },
    } as MonitorEvent;
    expect(clientMapOf([...events, connect]).get('sio:sock-1')).toBe('A');
  });
});
