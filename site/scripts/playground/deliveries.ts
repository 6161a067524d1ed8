// Who received what: the Socket.IO events the server delivered to each client of a run,
// counted per event name (the rooms panel shows them next to room membership).
import type { MonitorEvent } from '#protocol';
import { clientOf, type ClientMap } from './checks.ts';

/** client label → event name → how many times the server delivered it. */
export type Deliveries = Map<string, Map<string, number>>;

export function countDelivery(deliveries: Deliveries, e: MonitorEvent, clients: ClientMap): boolean {
  if (e.type !== 'eio' || e.from !== 'server' || !e.sio?.event) return false;
  const who = clientOf(e, clients) ?? 'externe';
  const perClient = deliveries.get(who) ?? new Map<string, number>();
  perClient.set(e.sio.event, (perClient.get(e.sio.event) ?? 0) + 1);
  deliveries.set(who, perClient);
  return true;
}

/** One French line per client, e.g. « B a reçu : said ×2, thanks ». */
export function describeDeliveries(deliveries: Deliveries, expected: string[]): string[] {
  const labels = [...new Set([...expected, ...[...deliveries.keys()].sort()])];
  return labels.map((label) => {
    const got = deliveries.get(label);
    if (!got || got.size === 0) return `${label} n’a reçu aucun évènement`;
    const list = [...got].map(([name, n]) => (n > 1 ? `«\u00a0${name}\u00a0» ×${n}` : `«\u00a0${name}\u00a0»`)).join(', ');
    return `${label} a reçu\u00a0: ${list}`;
  });
}
