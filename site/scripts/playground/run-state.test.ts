import { describe, expect, it } from 'vitest';
import type { FrameEvent, MonitorEvent } from '#protocol';
import { ECHO_RUN } from './fixtures.test-data.ts';
import { RunState } from './run-state.ts';
import type { Check } from './schema.ts';
import { EventFormatter } from './terminal-view.ts';

const said = (seq: number, conn: string, event = 'said'): MonitorEvent => ({
  type: 'eio',
  seq,
  t: 0,
  conn,
  from: 'server',
  transport: 'websocket',
  packet: 'message',
  sio: { type: 2, typeName: 'EVENT', nsp: '/', event },
});

const closeCheck: Check = { id: 'close', label: 'Fermer', expect: { type: 'frame', from: 'client', opcode: 8 } };
const logCheck: Check = { id: 'log', label: 'Écouter', expect: [], serverLog: { includes: 'écoute' } };

function fed(events: MonitorEvent[], run = new RunState()): RunState {
  for (const e of events) run.accept(e);
  return run;
}

describe('état de l’exécution', () => {
  it('garde les évènements de l’exécution, sans le hello', () => {
    const run = fed(ECHO_RUN);
    expect(run.events.map((e) => e.seq)).toEqual(ECHO_RUN.slice(1).map((e) => e.seq));
    expect(run.lastSeq).toBe(11);
  });

  it('compte les octets sur le fil par sens : en-têtes HTTP, en-têtes et charges des trames', () => {
    const run = fed(ECHO_RUN);
    // client: GET head 90 + text frame 6 + 5 + close frame 6 + 2; server: 101 head 60 + text frame 2 + 5.
    expect(run.bytes).toEqual({ client: 90 + 11 + 8, server: 60 + 7 });
  });

  it('apprend les étiquettes des clients et les garde d’une exécution à l’autre', () => {
    const run = fed(ECHO_RUN.slice(0, 8));
    run.start();
    expect(run.events).toEqual([]);
    expect(run.bytes).toEqual({ client: 0, server: 0 });
    expect(run.startSeq).toBe(8);
    fed(ECHO_RUN.slice(8), run);
    expect(run.clients.get('c1')).toBe('A');
    expect(run.clients.get('c2')).toBe('B');
    // 11 closes c1, a connection of the previous run: it is not part of this one.
    expect(run.events.map((e) => e.seq)).toEqual([9, 10]);
  });

  it('ignore les évènements antérieurs au début de l’exécution', () => {
    const run = fed(ECHO_RUN);
    run.start();
    expect(run.accept(ECHO_RUN[4])).toBe(false);
    expect(run.events).toEqual([]);
    // A connection of the previous run still talking (a late answer of the stopped server): not this run's.
    expect(run.accept({ ...ECHO_RUN[4], seq: 12 })).toBe(false);
    expect(run.events).toEqual([]);
    // The same event on a connection opened during the run is.
    expect(run.accept({ seq: 13, t: 6, type: 'conn-open', conn: 'c3', client: 'A', remote: '127.0.0.1:5002', path: 'echo' })).toBe(true);
    expect(run.accept({ ...(ECHO_RUN[4] as FrameEvent), seq: 14, conn: 'c3' })).toBe(true);
    expect(run.events.map((e) => e.seq)).toEqual([13, 14]);
    // A kept-alive connection of the previous run, reused by this run's client: its new request joins the run.
    expect(run.accept({ ...ECHO_RUN[2], seq: 15 })).toBe(true);
    expect(run.accept({ ...ECHO_RUN[3], seq: 16 })).toBe(true);
  });

  it('compte les évènements Socket.IO livrés à chaque client, avec son étiquette', () => {
    const external: MonitorEvent = {
      seq: 14,
      t: 6,
      type: 'conn-open',
      conn: 'c9',
      client: null,
      remote: '127.0.0.1:5009',
      path: 'socket.io/',
    };
    const run = fed([...ECHO_RUN, said(12, 'c2'), said(13, 'c2'), external, said(15, 'c9', 'other')]);
    expect(run.deliveryCount).toBe(3);
    expect(run.deliveries.get('B')?.get('said')).toBe(2);
    expect(run.deliveries.get('externe')?.get('other')).toBe(1);
    run.start();
    expect(run.deliveryCount).toBe(0);
    expect(run.deliveries.size).toBe(0);
  });

  it('évalue les exercices sur les évènements et les lignes du serveur de l’exécution', () => {
    const run = new RunState();
    expect(run.passes({ id: 'rien', label: 'Rien', expect: [] })).toBe(false);
    fed(ECHO_RUN, run);
    expect(run.passes(closeCheck)).toBe(true);
    expect(run.passes(logCheck)).toBe(false);
    run.addServerLine('serveur à l’écoute sur le port 8080');
    expect(run.passes(logCheck)).toBe(true);
    run.start();
    expect(run.passes(closeCheck)).toBe(false);
    expect(run.serverLines).toEqual([]);
  });

  it('prête ses étiquettes au formateur, qui les lit sans les modifier', () => {
    const run = fed(ECHO_RUN);
    const f = new EventFormatter(run.clients);
    expect(f.labelOf(ECHO_RUN[4]).text).toBe('A');
    const before = [...run.clients];
    f.format({ seq: 12, t: 6, type: 'conn-open', conn: 'c3', client: 'C', remote: '127.0.0.1:5002', path: 'echo' });
    expect([...run.clients]).toEqual(before);
    run.accept({ seq: 12, t: 6, type: 'conn-open', conn: 'c3', client: 'C', remote: '127.0.0.1:5002', path: 'echo' });
    const frame = ECHO_RUN[4] as FrameEvent;
    expect(f.labelOf({ ...frame, conn: 'c3' }).text).toBe('C');
  });
});
