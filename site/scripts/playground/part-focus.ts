// « Plein écran »: the playground takes the whole window (editors, consoles and terminal side by
// side with room to read them), and Échap or the same button gives the page back. A part of its
// own: the other parts only see their areas grow (Monaco and xterm.js follow their containers).
// The playground is shown as a manual popover: the top layer is above the site's sticky header
// whatever the stacking contexts of the page, which no z-index can promise.
import { $, type PartContext } from './parts.ts';

export function focusPart(ctx: Pick<PartContext, 'root'>): void {
  const button = $<HTMLButtonElement>(ctx.root, '[data-action=focus]');
  const section = $(ctx.root, '.aw-pg');
  section.popover = 'manual';
  // On the document while focused: the focus may have left the playground (« Exécuter » is
  // disabled while a run starts, and a disabled button drops the focus to the body).
  const onKey = (e: KeyboardEvent) => {
    // Échap inside Monaco closes its own widgets first (suggestions, find): leave those to it.
    if (e.key !== 'Escape' || e.defaultPrevented) return;
    toggle(false);
    button.focus();
  };
  const toggle = (on: boolean) => {
    button.setAttribute('aria-pressed', String(on));
    if (on) {
      ctx.root.dataset.focus = 'true';
      section.showPopover();
      document.addEventListener('keydown', onKey);
    } else {
      delete ctx.root.dataset.focus;
      section.hidePopover();
      document.removeEventListener('keydown', onKey);
    }
    // The page behind must not scroll under the playground.
    document.documentElement.classList.toggle('aw-pg-focused', on);
  };
  button.addEventListener('click', () => toggle(ctx.root.dataset.focus !== 'true'));
}
