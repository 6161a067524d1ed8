// « Exercices »: each check's ✗ / ✓ for the current run, remembered once passed (progress.ts).
import { type Part, type PartContext, SERVER_LABEL } from './parts.ts';
import { isPassed, markPassed, markSidebar, registerChecks } from './progress.ts';

/** Checks are judged at most every 100 ms while events and console lines come in. */
const CHECK_DELAY_MS = 100;

export function checksPart(ctx: Pick<PartContext, 'root' | 'props' | 'run'>): Part {
  const { props, run } = ctx;
  let timer = 0;

  const render = () => {
    for (const check of props.checks) {
      const li = ctx.root.querySelector<HTMLElement>(`[data-check="${CSS.escape(check.id)}"]`);
      if (!li) continue;
      const now = run.passes(check);
      if (now) markPassed(props.id, check.id);
      const passed = now || isPassed(props.id, check.id);
      li.dataset.run = String(now);
      li.dataset.state = passed ? 'passed' : 'pending';
      li.querySelector('.aw-pg-check-mark')!.textContent = passed ? '✓' : '✗';
      li.querySelector('.aw-pg-check-state')!.textContent = passed ? ' (réussi)' : ' (pas encore réussi)';
    }
  };
  const schedule = () => {
    if (timer) return;
    timer = window.setTimeout(() => {
      timer = 0;
      render();
    }, CHECK_DELAY_MS);
  };

  registerChecks(
    props.id,
    props.checks.map((c) => c.id),
  );
  render();
  markSidebar();

  return {
    reset: render,
    onEvent: schedule,
    // The server console's lines count for `serverLog`.
    onLog: (client, m) => {
      if (client === SERVER_LABEL && m.t !== 'truncated') schedule();
    },
  };
}
