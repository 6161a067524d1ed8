import { describe, expect, it } from 'vitest';
import type { MonitorEvent } from '#protocol';
import type { ClientMap } from './checks.ts';
import { countDelivery, describeDeliveries, type Deliveries } from './deliveries.ts';

const said = (conn: string, from: 'client' | 'server', event = 'said'): MonitorEvent => ({
  type: 'eio',
  seq: 1,
  t: 0,
  conn,
  from,
  transport: 'websocket',
  packet: 'message',
  sio: { type: 2, typeName: 'EVENT', nsp: '/', event },
});

describe('qui a reçu quoi', () => {
  it('compte les évènements livrés par le serveur à chaque client, pas ceux qu’il envoie', () => {
    const clients: ClientMap = new Map([
      ['c1', 'A'],
      ['c2', 'B'],
    ]);
    const deliveries: Deliveries = new Map();
    const events = [said('c1', 'client', 'say'), said('c2', 'server'), said('c2', 'server'), said('c1', 'server', 'thanks')];
    const counted = events.filter((e) => countDelivery(deliveries, e, clients)).length;
    expect(counted).toBe(3);
    expect(describeDeliveries(deliveries, ['A', 'B', 'C'])).toEqual([
      'A a reçu\u00a0: «\u00a0thanks\u00a0»',
      'B a reçu\u00a0: «\u00a0said\u00a0» ×2',
      'C n’a reçu aucun évènement',
    ]);
  });
});
