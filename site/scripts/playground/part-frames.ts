// « Trames récentes »: one button per frame of the run, newest first; « Détail de la trame »: the
// RFC 6455 §5.2 bit diagram and the fields of the chosen frame (model in frame-diagram.ts).
import type { FrameEvent } from '#protocol';
import { type FrameFault, faultContext, frameDiagram, frameFaults, frameFields } from './frame-diagram.ts';
import { $, type Part, type PartContext } from './parts.ts';
import type { EventFormatter } from './terminal-view.ts';

const MAX_FRAMES = 40;

export function framesPart(ctx: Pick<PartContext, 'root' | 'run'>, formatter: Pick<EventFormatter, 'labelOf'>): Part {
  const { root, run } = ctx;
  const list = $(root, '.aw-pg-frame-list');
  const panel = $(root, '.aw-pg-frame-detail');

  const addButton = (e: FrameEvent) => {
    const li = document.createElement('li');
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.dataset.seq = String(e.seq);
    const who = formatter.labelOf(e).text;
    const arrow = e.from === 'client' ? `${who} → serveur` : `serveur → ${who}`;
    const text = e.text ? ` «\u00a0${e.text.length > 24 ? e.text.slice(0, 24) + '…' : e.text}\u00a0»` : '';
    btn.textContent = `${arrow} · ${e.opcodeName} · ${e.length}\u00a0o${text}`;
    btn.className = e.opcode >= 8 ? 'aw-control' : '';
    li.append(btn);
    list.prepend(li);
    while (list.childElementCount > MAX_FRAMES) list.lastElementChild!.remove();
  };

  const show = (seq: number) => {
    const e = run.events.find((x): x is FrameEvent => x.type === 'frame' && x.seq === seq);
    if (!e) return;
    // The violation that follows and the connection's 101 tell what the fields alone cannot (RSV1
    // without a negotiated extension, a bad close code…).
    const faults = frameFaults(e, faultContext(run.events, e));
    panel.querySelector('.aw-pg-frame-body')!.replaceChildren(diagramTable(e, faults), fieldList(e, faults));
    panel.hidden = false;
    panel.querySelector<HTMLElement>('h4')?.focus();
  };

  $(root, '.aw-pg-frames').addEventListener('click', (e) => {
    const btn = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-seq]');
    if (btn) show(Number(btn.dataset.seq));
  });

  const clear = () => {
    list.replaceChildren();
    panel.hidden = true;
  };
  return {
    reset: clear,
    clear,
    onEvent(e) {
      if (e.type === 'frame') addButton(e);
    },
  };
}

function diagramTable(e: FrameEvent, faults: FrameFault[]): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'aw-pg-diagram';
  const caption = document.createElement('caption');
  caption.textContent = `Trame ${e.opcodeName} (${e.from === 'client' ? 'client → serveur' : 'serveur → client'}), ${e.length}\u00a0octets de charge utile, selon la RFC 6455 §5.2`;
  table.append(caption);
  const head = document.createElement('tr');
  const corner = document.createElement('th');
  corner.scope = 'col';
  corner.textContent = 'bit';
  head.append(corner);
  for (let i = 0; i < 32; i++) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = String(i % 10);
    head.append(th);
  }
  const thead = document.createElement('thead');
  thead.append(head);
  const tbody = document.createElement('tbody');
  for (const row of frameDiagram(e, 8, faults)) {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = `+${row.offset}`;
    tr.append(th);
    for (const cell of row.cells) {
      const td = document.createElement('td');
      td.colSpan = cell.bits.length;
      td.dataset.field = cell.field;
      td.title = cell.label;
      if (cell.fault) td.classList.add('aw-pg-fault');
      const name = document.createElement('span');
      name.className = 'aw-pg-field';
      name.textContent = cell.continued ? `${cell.field} (suite)` : cell.field;
      const bits = document.createElement('span');
      bits.className = 'aw-pg-bits';
      bits.textContent = cell.bits;
      td.append(name, bits);
      tr.append(td);
    }
    tbody.append(tr);
  }
  table.append(thead, tbody);
  return table;
}

function fieldList(e: FrameEvent, faults: FrameFault[]): HTMLDListElement {
  const dl = document.createElement('dl');
  for (const f of frameFields(e, 8, faults)) {
    const dt = document.createElement('dt');
    dt.textContent = `${f.field} (${f.label})`;
    const dd = document.createElement('dd');
    dd.textContent = f.value;
    if (f.fault) dd.classList.add('aw-pg-fault');
    dl.append(dt, dd);
  }
  if (e.text !== undefined) {
    const dt = document.createElement('dt');
    dt.textContent = 'Texte (démasqué)';
    const dd = document.createElement('dd');
    dd.textContent = `«\u00a0${e.text}\u00a0»`;
    dl.append(dt, dd);
  }
  return dl;
}
