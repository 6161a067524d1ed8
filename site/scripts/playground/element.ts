// <aw-playground>: composes the parts of a playground (parts.ts) around its run state
// (run-state.ts), its sandbox session and the isolated runner. Light at page load: xterm.js is
// imported when the playground comes into view or is touched, Monaco when the learner starts
// editing a file (part-editors.ts); until then the code is in a coloured <textarea>.
import type { MonitorEvent } from '#protocol';
import { checksPart } from './part-checks.ts';
import { connectPart } from './part-connect.ts';
import { consolesPart } from './part-consoles.ts';
import { type Editors, editorsPart } from './part-editors.ts';
import { focusPart } from './part-focus.ts';
import { framesPart } from './part-frames.ts';
import { roomsPart } from './part-rooms.ts';
import { type Terminal, terminalPart } from './part-terminal.ts';
import { type Toolbar, toolbarPart } from './part-toolbar.ts';
import type { Part, PartContext } from './parts.ts';
import { SERVER_LABEL } from './parts.ts';
import { RunState } from './run-state.ts';
import type { RunHandle } from './runner-host.ts';
import type { RuntimeMessage } from './runner-runtime.ts';
import { SessionClient } from './session-client.ts';
import { EventFormatter } from './terminal-view.ts';
import { clientLabel, type PlaygroundProps } from './types.ts';

class AwPlayground extends HTMLElement {
  props!: PlaygroundProps;
  /** The session (public for the benchmark: `el.session.onEvent`). */
  session!: SessionClient;
  private readonly state = new RunState();
  private parts: Part[] = [];
  private editors!: Editors;
  private terminal!: Terminal;
  private toolbar!: Toolbar;
  private loading: Promise<void> | null = null;
  private handle: RunHandle | null = null;

  /** Events of the current run (public for tests: `el.events`). */
  get events(): MonitorEvent[] {
    return this.state.events;
  }

  /** Lines the server console showed during the current run (checks' `serverLog`; public for tests). */
  get serverLines(): string[] {
    return this.state.serverLines;
  }

  connectedCallback(): void {
    if (this.props) return;
    this.props = JSON.parse(this.dataset.props!);
    this.session = new SessionClient(location.origin, { server: this.props.server !== undefined, network: this.props.network });
    const ctx: PartContext = {
      root: this,
      props: this.props,
      run: this.state,
      status: (text) => this.toolbar.status(text),
      runCode: () => void this.run(),
      loadHeavy: () => this.loadHeavy(),
    };
    this.toolbar = toolbarPart(ctx, () => this.stop());
    focusPart(ctx);
    // The formatter reads the run state's client labels; the frames list labels its buttons with it.
    const formatter = new EventFormatter(this.state.clients);
    this.editors = editorsPart(ctx);
    this.terminal = terminalPart(ctx, formatter);
    // Order matters: on each event the rooms, then the frames list, then the terminal; checks last.
    this.parts = [
      this.editors,
      consolesPart(ctx),
      roomsPart(ctx),
      framesPart(ctx, formatter),
      this.terminal,
      checksPart(ctx),
      connectPart(ctx, this.session),
    ];
    this.querySelector('[data-action=clear]')?.addEventListener('click', () => {
      for (const p of this.parts) p.clear?.();
    });

    this.session.onEvent((e) => {
      if (!this.state.accept(e)) return;
      for (const p of this.parts) p.onEvent?.(e, this.state);
    });

    // Load the terminal and prepare a run when the playground comes near the viewport or is touched.
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((en) => en.isIntersecting)) {
          io.disconnect();
          void this.loadHeavy();
        }
      },
      { rootMargin: '200px' },
    );
    io.observe(this);
    const touch = () => void this.loadHeavy();
    this.addEventListener('pointerdown', touch, { once: true });
    this.addEventListener('focusin', touch, { once: true });
  }

  code(): string {
    return this.editors.code();
  }

  setCode(code: string): void {
    this.editors.setCode(code);
  }

  serverCode(): string {
    return this.editors.serverCode();
  }

  setServerCode(code: string): void {
    this.editors.setServerCode(code);
  }

  /** Plain text of everything shown in the terminal (tests read it). */
  terminalText(): string {
    return this.terminal.text();
  }

  /** xterm.js (once; `data-ready` then), then the first run is prepared. */
  loadHeavy(): Promise<void> {
    this.loading ??= (async () => {
      await Promise.all(this.parts.map((p) => p.load?.()));
      this.dataset.ready = 'true';
      this.prepareRun();
    })().catch((err) => {
      this.loading = null;
      this.log('A', { t: 'error', kind: 'error', text: `Chargement de l’éditeur impossible\u00a0: ${String(err)}`, line: null });
    });
    return this.loading;
  }

  /**
   * Gets the first run ready in advance: the session and its monitor socket, and the page's spare
   * sandboxed iframe (see runner-host.ts). Errors are left for « Exécuter » to report.
   */
  private prepareRun(): void {
    this.session.connect().catch(() => {});
    import('./runner-host.ts').then(
      (host) => host.prepare(this.props.clients),
      () => {},
    );
  }

  private programs() {
    const code = this.code();
    return Array.from({ length: this.props.clients }, (_, index) => ({
      label: clientLabel(index),
      index,
      code: this.props.perClientCode?.[index] || code,
    }));
  }

  async run(): Promise<void> {
    this.toolbar.starting(true);
    for (const name of ['aw:run', 'aw:run-posted', 'aw:first-frame']) performance.clearMarks(name);
    performance.mark('aw:run');
    this.toolbar.status('Connexion au bac à sable…');
    try {
      const [hello, host] = await Promise.all([this.session.connect(), import('./runner-host.ts')]);
      this.handle?.stop();
      this.state.start(hello.network);
      for (const p of this.parts) p.reset?.();
      this.toolbar.running(true);
      const programs = this.programs();
      const server =
        this.props.server !== undefined && this.session.host
          ? { code: this.serverCode(), hostUrl: this.session.host.url, secret: this.session.host.secret }
          : undefined;
      this.toolbar.status(
        `Exécution en cours (${[...(server ? ['serveur'] : []), ...programs.map((p) => `client ${p.label}`)].join(', ')}).`,
      );
      const errors = this.editors.syntaxErrors();
      for (const err of errors.client) this.log('A', { t: 'error', kind: 'syntax', text: err.message, line: err.line });
      for (const err of errors.server) this.log(host.SERVER_LABEL, { t: 'error', kind: 'syntax', text: err.message, line: err.line });
      this.handle = host.run({
        endpoints: hello.endpoints,
        clients: programs,
        server,
        onMessage: (client, m) => this.log(client, m),
        onStop: (reason) => {
          this.handle = null;
          this.toolbar.running(false);
          this.toolbar.status(
            reason === 'replaced'
              ? 'Arrêté\u00a0: un autre bac à sable de la page a été lancé.'
              : reason === 'timeout'
                ? 'Arrêté après 10 minutes d’exécution.'
                : 'Arrêté.',
          );
        },
      });
    } catch (err) {
      this.toolbar.status(err instanceof Error ? err.message : String(err));
    } finally {
      this.toolbar.starting(false);
    }
  }

  stop(): void {
    this.handle?.stop();
  }

  /** A console message: the server's lines count for checks (`serverLog`), then the parts show it. */
  private log(client: string, m: RuntimeMessage): void {
    if (client === SERVER_LABEL && m.t !== 'truncated') this.state.addServerLine(m.text);
    for (const p of this.parts) p.onLog?.(client, m, this.state);
  }
}

if (!customElements.get('aw-playground')) customElements.define('aw-playground', AwPlayground);
