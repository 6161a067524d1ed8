// The xterm.js sink (lazy): styled lines → ANSI, theme from Starlight, fitted to its box.
import { Terminal, type ITheme } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import type { Color, StyledLine, TerminalSink } from './terminal-view.ts';

const ANSI: Record<Color, number> = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90 };

const DARK: ITheme = {
  background: '#17181c',
  foreground: '#e6e6e6',
  cursor: '#17181c',
  selectionBackground: '#3d4a63',
  green: '#7ee787',
  blue: '#79c0ff',
  cyan: '#56d4dd',
  magenta: '#d2a8ff',
  yellow: '#e3b341',
  red: '#ff7b72',
  brightBlack: '#9198a1',
};
const LIGHT: ITheme = {
  background: '#fbfbfc',
  foreground: '#1f2328',
  cursor: '#fbfbfc',
  selectionBackground: '#c8d7f0',
  green: '#116329',
  blue: '#0550ae',
  cyan: '#0a6b75',
  magenta: '#8250df',
  yellow: '#7d4e00',
  red: '#cf222e',
  brightBlack: '#59636e',
};

/** Control characters from the wire (ESC, DEL, C1…) shown as \xNN, never interpreted by the terminal. */
export const visible = (text: string) =>
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

export function toAnsi(line: StyledLine): string {
  return line
    .map((seg) => ({ ...seg, text: visible(seg.text) }))
    .map((s) => {
      const codes: number[] = [];
      if (s.bold) codes.push(1);
      // Dim text is drawn grey, not with SGR 2 (half-transparent text fails contrast checks).
      const fg = s.fg ?? (s.dim ? 'gray' : undefined);
      if (fg) codes.push(ANSI[fg]);
      return codes.length ? `\x1b[${codes.join(';')}m${s.text}\x1b[0m` : s.text;
    })
    .join('');
}

export interface XtermView extends TerminalSink {
  /** Whether new lines scroll the view to the bottom. */
  follow: boolean;
  /** Whole buffer as plain text (wrapped rows joined). */
  text(): string;
  dispose(): void;
}

export function createXterm(container: HTMLElement): XtermView {
  const theme = () => (document.documentElement.dataset.theme === 'light' ? LIGHT : DARK);
  const term = new Terminal({
    convertEol: true,
    disableStdin: true,
    cursorBlink: false,
    cursorInactiveStyle: 'none',
    scrollback: 5000,
    fontSize: 13,
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
    theme: theme(),
    screenReaderMode: false,
    drawBoldTextInBrightColors: false,
    // Colours are adjusted to keep text readable (WCAG AA) on both themes.
    minimumContrastRatio: 4.5,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(container);
  // The terminal is a visual duplicate of the accessible log: keep it out of the tab order.
  for (const el of container.querySelectorAll<HTMLElement>('textarea, [tabindex]')) el.tabIndex = -1;
  const refit = () => {
    try {
      if (container.clientWidth > 0 && container.clientHeight > 0) fit.fit();
    } catch {
      /* not laid out yet */
    }
  };
  const resize = new ResizeObserver(() => refit());
  resize.observe(container);
  refit();
  const themeObserver = new MutationObserver(() => (term.options.theme = theme()));
  themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });

  const view: XtermView = {
    follow: true,
    write(line) {
      const atBottom = view.follow;
      const viewport = term.buffer.active.viewportY;
      term.write(toAnsi(line) + '\r\n', () => {
        if (atBottom) term.scrollToBottom();
        else term.scrollToLine(viewport);
      });
    },
    clear() {
      term.reset();
    },
    text() {
      const buf = term.buffer.active;
      const out: string[] = [];
      for (let i = 0; i < buf.length; i++) {
        const line = buf.getLine(i);
        if (!line) continue;
        const s = line.translateToString(true);
        if (line.isWrapped && out.length) out[out.length - 1] += s;
        else out.push(s);
      }
      return out.join('\n').trimEnd();
    },
    dispose() {
      resize.disconnect();
      themeObserver.disconnect();
      term.dispose();
    },
  };
  return view;
}
