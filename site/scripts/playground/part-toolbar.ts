// « Exécuter », « Arrêter », the status line and `data-running` (the editors' buttons of the same
// toolbar are part-editors.ts's).
import { $, type PartContext } from './parts.ts';

export interface Toolbar {
  /** Writes the status line (role="status"). */
  status(text: string): void;
  /** « Exécuter » is pressed and its run is being set up (the button is disabled meanwhile). */
  starting(on: boolean): void;
  /** A run is live (`data-running`, « Arrêter » enabled) or not. */
  running(on: boolean): void;
}

export function toolbarPart(ctx: Pick<PartContext, 'root' | 'runCode'>, stop: () => void): Toolbar {
  const runBtn = $<HTMLButtonElement>(ctx.root, '[data-action=run]');
  const stopBtn = $<HTMLButtonElement>(ctx.root, '[data-action=stop]');
  const statusLine = $(ctx.root, '.aw-pg-status');
  runBtn.addEventListener('click', () => ctx.runCode());
  stopBtn.addEventListener('click', () => stop());
  return {
    status: (text) => {
      statusLine.textContent = text;
    },
    starting: (on) => {
      runBtn.disabled = on;
    },
    running: (on) => {
      if (on) {
        stopBtn.removeAttribute('disabled');
        ctx.root.dataset.running = 'true';
      } else {
        stopBtn.setAttribute('disabled', '');
        delete ctx.root.dataset.running;
      }
    },
  };
}
