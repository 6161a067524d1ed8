// The parts of a playground page and what they share. <aw-playground> (element.ts) only composes
// them: each part owns one area of the markup (Playground.astro) and its behaviour.
//
//   editors  (part-editors.ts)   client.js / serveur.js: textareas, Monaco, tabs, saved code,
//                                share links, « Réinitialiser », « Solution », « Partager »
//   consoles (part-consoles.ts)  « Console » and « Console du serveur »
//   terminal (part-terminal.ts)  « Sur le fil »: byte counters, xterm.js + plain sink, the
//                                screen-reader log, filters, « Suivre », « Exporter JSON »
//   frames   (part-frames.ts)    « Trames récentes » and the bit diagram of the chosen frame
//   rooms    (part-rooms.ts)     « Rooms » and who received which Socket.IO event
//   checks   (part-checks.ts)    « Exercices »: ✗ / ✓, remembered passes
//   connect  (part-connect.ts)   « Connecter votre propre client »
//   toolbar  (part-toolbar.ts)   « Exécuter », « Arrêter », the status line, data-running
//   focus    (part-focus.ts)     « Plein écran »: the playground over the whole window
//
// The element owns the run state (run-state.ts, no DOM) and feeds it every monitor event, then
// hands the events of the run to the parts, in order; a part reads the run state, never writes it.
import type { MonitorEvent } from '#protocol';
import type { RunState } from './run-state.ts';
import type { RuntimeMessage } from './runner-runtime.ts';
import type { PlaygroundProps } from './types.ts';

/** Label of the server's console messages (runner-host.ts's SERVER_LABEL, without importing that module eagerly). */
export const SERVER_LABEL = 'serveur';

/** What the element gives every part. */
export interface PartContext {
  /** The <aw-playground> element: a part queries its own area in it. */
  readonly root: HTMLElement;
  /** The props (the same object as `el.props`: tests may change `clients` before a run). */
  readonly props: PlaygroundProps;
  /** The current run (read only for parts). */
  readonly run: RunState;
  /** Writes the status line (role="status"). */
  status(text: string): void;
  /** « Exécuter » (Ctrl+Entrée in an editor). */
  runCode(): void;
  /** Loads xterm.js and prepares the first run (once). */
  loadHeavy(): Promise<void>;
}

/** One area of the page. Every hook is optional; the element calls them on every part. */
export interface Part {
  /** xterm.js: import it and replace the light stand-in (called once, from loadHeavy). */
  load?(): Promise<void>;
  /** A run starts; the run state was just reset. */
  reset?(): void;
  /** « Effacer »: forget what is shown of the traffic (the run state keeps it). */
  clear?(): void;
  /** One monitor event of the current run, already taken in by `run`. */
  onEvent?(e: MonitorEvent, run: RunState): void;
  /** One console message of a client (`A`, `B`…) or of the server (`SERVER_LABEL`). */
  onLog?(client: string, m: RuntimeMessage, run: RunState): void;
}

/** `root.querySelector`, typed, that throws when the markup lacks a required area. */
export function $<T extends HTMLElement = HTMLElement>(root: ParentNode, sel: string): T {
  const el = root.querySelector<T>(sel);
  if (!el) throw new Error(`Playground: ${sel} missing`);
  return el;
}
