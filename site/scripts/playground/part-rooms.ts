// « Rooms »: the Socket.IO rooms of each namespace (the sandbox's `rooms` events), and under them
// who received which Socket.IO event during the run. Shown once rooms are in play; not emptied
// when a run starts (the next `rooms` event replaces its namespace's block).
import type { MonitorEvent } from '#protocol';
import { describeDeliveries } from './deliveries.ts';
import { $, type Part, type PartContext } from './parts.ts';
import type { RunState } from './run-state.ts';
import { clientLabel } from './types.ts';

export function roomsPart(ctx: Pick<PartContext, 'root' | 'props'>): Part {
  const panel = $(ctx.root, '.aw-pg-rooms');
  /** Deliveries already drawn (the run state's count). */
  let shown = 0;

  const renderRooms = (e: Extract<MonitorEvent, { type: 'rooms' }>, run: RunState) => {
    panel.hidden = false;
    let block = panel.querySelector<HTMLElement>(`[data-nsp="${CSS.escape(e.nsp)}"]`);
    if (!block) {
      block = document.createElement('div');
      block.dataset.nsp = e.nsp;
      panel.append(block);
    }
    // Socket ids are resolved through the Socket.IO CONNECT packets seen (per Engine.IO session).
    const who = (id: string) => run.clients.get(`sio:${id}`) ?? e.sockets[id]?.client ?? `externe (${id})`;
    const rooms = Object.entries(e.rooms).filter(([room, ids]) => !(ids.length === 1 && ids[0] === room));
    block.replaceChildren();
    const title = document.createElement('p');
    title.textContent = `Espace de noms ${e.nsp}\u00a0:`;
    const ul = document.createElement('ul');
    for (const [room, ids] of rooms) {
      const li = document.createElement('li');
      li.textContent = `«\u00a0${room}\u00a0»\u00a0: ${ids.map(who).join(', ') || 'personne'}`;
      ul.append(li);
    }
    if (!rooms.length) {
      const li = document.createElement('li');
      li.textContent = 'aucune room';
      ul.append(li);
    }
    block.append(title, ul);
  };

  /** Under the rooms: who received which Socket.IO event (shown once rooms are in play). */
  const renderDeliveries = (run: RunState) => {
    shown = run.deliveryCount;
    if (panel.hidden) return;
    let block = panel.querySelector<HTMLElement>('.aw-pg-deliveries');
    if (!block) {
      block = document.createElement('div');
      block.className = 'aw-pg-deliveries';
    }
    const title = document.createElement('p');
    title.textContent = 'Reçu par chaque client\u00a0:';
    const ul = document.createElement('ul');
    const expected = Array.from({ length: ctx.props.clients }, (_, i) => clientLabel(i));
    for (const line of describeDeliveries(run.deliveries, expected)) {
      const li = document.createElement('li');
      li.textContent = line;
      ul.append(li);
    }
    block.replaceChildren(title, ul);
    // Kept last, after namespace blocks added since.
    panel.append(block);
  };

  return {
    // The panel keeps showing the last run's rooms and deliveries until new ones come.
    reset() {
      shown = 0;
    },
    onEvent(e, run) {
      if (e.type === 'rooms') {
        renderRooms(e, run);
        renderDeliveries(run);
      } else if (run.deliveryCount !== shown) {
        renderDeliveries(run);
      }
    },
  };
}
