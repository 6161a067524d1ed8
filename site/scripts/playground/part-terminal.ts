// « Sur le fil »: the byte counters, the decoded traffic (xterm.js, lazy, and a plain-text sink the
// tests read), the visually hidden log that says it in sentences, the filters, « Suivre » and
// « Exporter JSON ». Marks `aw:first-frame` when the run's first frame line is written.
import type { MonitorEvent } from '#protocol';
import { $, type Part, type PartContext } from './parts.ts';
import type { RunState } from './run-state.ts';
import { type EventFormatter, networkLine, PlainSink, summary, type TerminalSink } from './terminal-view.ts';
import type { XtermView } from './terminal-xterm.ts';

const MAX_A11Y_LINES = 60;

const fmtBytes = (n: number) => `${n.toLocaleString('fr-FR')}\u00a0o`;

export interface Terminal extends Part {
  /** Plain text of everything shown in the terminal (tests read it: `el.terminalText()`). */
  text(): string;
}

export function terminalPart(ctx: Pick<PartContext, 'root' | 'props' | 'run'>, formatter: EventFormatter): Terminal {
  const { root, props, run } = ctx;
  const plain = new PlainSink();
  let xterm: XtermView | null = null;
  let paused = false;
  /** Until the first frame line of a run is drawn (then `performance.mark('aw:first-frame')`). */
  let awaitingFrame = false;
  const a11yLog = $(root, '.aw-pg-a11y-log');
  const bytesOut = $(root, '.aw-pg-bytes-out');
  const bytesIn = $(root, '.aw-pg-bytes-in');

  const showBytes = (r: RunState) => {
    bytesOut.textContent = fmtBytes(r.bytes.client);
    bytesIn.textContent = fmtBytes(r.bytes.server);
  };

  /** Writes the lines of `e` (filters applied); returns how many. */
  const draw = (e: MonitorEvent, announce: boolean): number => {
    const lines = formatter.format(e);
    const sinks: TerminalSink[] = [plain];
    if (xterm) sinks.push(xterm);
    for (const line of lines) for (const s of sinks) s.write(line);
    const said = lines.length && announce ? summary(e, formatter) : null;
    if (said) {
      const p = document.createElement('p');
      p.textContent = said;
      a11yLog.append(p);
      while (a11yLog.childElementCount > MAX_A11Y_LINES) a11yLog.firstElementChild!.remove();
    }
    return lines.length;
  };

  /** The run's first line: the session's network conditions, when it has some. */
  const header = (announce: boolean) => {
    const line = networkLine(run.network);
    if (!line) return;
    plain.write(line);
    xterm?.write(line);
    if (announce) {
      const p = document.createElement('p');
      p.textContent = line.map((s) => s.text).join('');
      a11yLog.append(p);
    }
  };

  /** The run's events again (filters changed, xterm.js arrived), not announced again. */
  const redraw = () => {
    plain.clear();
    xterm?.clear();
    header(false);
    for (const e of run.events) draw(e, false);
  };

  const clear = () => {
    plain.clear();
    xterm?.clear();
    a11yLog.replaceChildren();
    showBytes(run);
  };

  $(root, '[data-action=follow]').addEventListener('click', (e) => {
    const btn = e.currentTarget as HTMLButtonElement;
    paused = btn.getAttribute('aria-pressed') === 'true';
    btn.setAttribute('aria-pressed', String(!paused));
    if (xterm) xterm.follow = !paused;
  });
  $(root, '[data-action=export]').addEventListener('click', () => {
    const blob = new Blob([JSON.stringify(run.events, null, 2)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `atelier-${props.id}-evenements.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });
  for (const box of root.querySelectorAll<HTMLInputElement>('[data-filter]')) {
    box.addEventListener('change', () => {
      formatter.filters = { ...formatter.filters, [box.dataset.filter!]: box.checked };
      redraw();
    });
  }

  return {
    async load() {
      const { createXterm } = await import('./terminal-xterm.ts');
      xterm = createXterm($(root, '.aw-pg-xterm'));
      xterm.follow = !paused;
      redraw();
    },
    reset() {
      awaitingFrame = true;
      clear();
      header(true);
    },
    clear,
    onEvent(e, r) {
      if (e.type === 'frame' || e.type === 'http' || e.type === 'http-body') showBytes(r);
      const drawn = draw(e, !paused);
      if (awaitingFrame && drawn && e.type === 'frame') {
        awaitingFrame = false;
        performance.mark('aw:first-frame', { detail: { playground: props.id } });
      }
    },
    text: () => plain.toString(),
  };
}
