// <aw-playground>: wires the editor, the isolated runner, the sandbox session and the terminal.
// Light at page load: Monaco and xterm.js are imported when the playground comes into view or
// is touched; until then the starter code is in a plain <textarea>.
import type { FrameEvent, MonitorEvent } from '#protocol';
import { evaluateCheck, learnClient } from './checks.ts';
import { countDelivery, describeDeliveries, type Deliveries } from './deliveries.ts';
import { faultContext, frameDiagram, frameFaults, frameFields } from './frame-diagram.ts';
import { isPassed, markPassed, markSidebar, registerChecks } from './progress.ts';
import { setupCodeTabs } from './code-tabs.ts';
import type { RunHandle } from './runner-host.ts';
import type { RuntimeMessage } from './runner-runtime.ts';
import { SessionClient } from './session-client.ts';
import { serverKey, sharedCode, shareUrl } from './share.ts';
import { lessonKey, load, save } from './storage.ts';
import { EventFormatter, PlainSink, summary, wireBytes, type TerminalSink } from './terminal-view.ts';
import { clientLabel, type PlaygroundProps } from './types.ts';
import type { EditorHandle } from './editor.ts';
import type { XtermView } from './terminal-xterm.ts';

/** Label of the server's console messages (runner-host.ts's SERVER_LABEL, without importing that module eagerly). */
const SERVER_LABEL = 'serveur';
const MAX_A11Y_LINES = 60;
const MAX_FRAMES = 40;
const MAX_CONSOLE = 300;

const fmtBytes = (n: number) => `${n.toLocaleString('fr-FR')}\u00a0o`;

class AwPlayground extends HTMLElement {
  props!: PlaygroundProps;
  /** Events of the current run (public for tests: el.events). */
  events: MonitorEvent[] = [];
  /** Lines the server console showed during the current run (checks' `serverLog`; public for tests). */
  serverLines: string[] = [];
  /** Socket.IO events the server delivered to each client during the run (rooms panel). */
  private deliveries: Deliveries = new Map();
  private session!: SessionClient;
  private runStartSeq = 0;
  private formatter = new EventFormatter();
  private plain = new PlainSink();
  private xterm: XtermView | null = null;
  private editor: EditorHandle | null = null;
  /** The server code's editor (playgrounds with `server`), made when its tab is first shown. */
  private serverEditor: EditorHandle | null = null;
  private loading: Promise<void> | null = null;
  private handle: RunHandle | null = null;
  private bytes = { client: 0, server: 0 };
  private paused = false;
  private checkTimer = 0;
  private storageKey = '';

  private $<T extends HTMLElement = HTMLElement>(sel: string): T;
  private $<T extends HTMLElement = HTMLElement>(sel: string, required: false): T | null;
  private $<T extends HTMLElement = HTMLElement>(sel: string): T | null {
    return this.querySelector<T>(sel);
  }

  connectedCallback(): void {
    if (this.props) return;
    this.props = JSON.parse(this.dataset.props!);
    this.session = new SessionClient(location.origin, { server: this.hasServer });
    this.storageKey = `aw:code:${lessonKey()}:${this.props.id}`;
    if (this.hasServer) this.setupServerCode();
    const textarea = this.$<HTMLTextAreaElement>('.aw-pg-textarea');
    const stored = load(this.storageKey);
    if (stored !== null) textarea.value = stored;
    textarea.addEventListener('input', () => this.persist(textarea.value));
    textarea.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        void this.run();
      }
    });
    void sharedCode(this.props.id).then((code) => {
      if (code === null) return;
      this.setCode(code);
      this.persist(code);
      this.status('Code chargé depuis un lien partagé. Appuyez sur «\u00a0Exécuter\u00a0» pour le lancer.');
    });
    // An editable « serveur.js » travels in the link too (a read-only one is the lesson's).
    if (this.props.serverEditable) {
      void sharedCode(serverKey(this.props.id)).then((code) => {
        if (code === null) return;
        this.setServerCode(code);
        this.persistServer(code);
      });
    }

    this.$('[data-action=run]').addEventListener('click', () => void this.run());
    this.$('[data-action=stop]').addEventListener('click', () => this.stop());
    this.$('[data-action=reset]').addEventListener('click', () => {
      this.setCode(this.props.code);
      save(this.storageKey, null);
      if (this.hasServer) {
        this.setServerCode(this.props.server ?? '');
        save(this.serverKey, null);
      }
      this.status('Code de départ restauré.');
    });
    this.querySelector('[data-action=solution]')?.addEventListener('click', () => {
      if (this.props.solution !== undefined) {
        this.setCode(this.props.solution);
        this.persist(this.props.solution);
      }
      if (this.props.serverSolution !== undefined) {
        this.setServerCode(this.props.serverSolution);
        this.persistServer(this.props.serverSolution);
      }
      this.status('Solution chargée dans l’éditeur.');
    });
    this.$('[data-action=share]').addEventListener('click', () => void this.share());
    this.$('[data-action=clear]').addEventListener('click', () => this.clearView());
    this.$('[data-action=follow]').addEventListener('click', (e) => {
      const btn = e.currentTarget as HTMLButtonElement;
      this.paused = btn.getAttribute('aria-pressed') === 'true';
      btn.setAttribute('aria-pressed', String(!this.paused));
      if (this.xterm) this.xterm.follow = !this.paused;
    });
    this.$('[data-action=export]').addEventListener('click', () => this.exportJson());
    for (const box of this.querySelectorAll<HTMLInputElement>('[data-filter]')) {
      box.addEventListener('change', () => {
        this.formatter.filters = { ...this.formatter.filters, [box.dataset.filter!]: box.checked };
        this.redraw();
      });
    }
    this.$<HTMLDetailsElement>('.aw-pg-connect').addEventListener('toggle', (e) => {
      if ((e.currentTarget as HTMLDetailsElement).open) void this.showConnect();
    });
    this.$('.aw-pg-frames').addEventListener('click', (e) => {
      const btn = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-seq]');
      if (btn) this.showFrame(Number(btn.dataset.seq));
    });

    registerChecks(
      this.props.id,
      this.props.checks.map((c) => c.id),
    );
    this.renderChecks();
    markSidebar();

    this.session.onEvent((e) => this.onEvent(e));

    // Load the heavy parts when the playground comes near the viewport or is touched.
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

  private persist(code: string): void {
    save(this.storageKey, code === this.props.code ? null : code);
  }

  private get hasServer(): boolean {
    return this.props.server !== undefined;
  }

  private get serverKey(): string {
    return `${this.storageKey}:serveur`;
  }

  /** The « serveur.js » tab: its saved code, its tabs, its editor made when first shown. */
  private setupServerCode(): void {
    const textarea = this.$<HTMLTextAreaElement>('.aw-pg-textarea-server');
    const stored = this.props.serverEditable ? load(this.serverKey) : null;
    if (stored !== null) textarea.value = stored;
    textarea.addEventListener('input', () => this.persistServer(textarea.value));
    setupCodeTabs(this.$('.aw-pg-tabs'), (tab) => {
      if (tab === 'server') void this.loadServerEditor();
    });
  }

  private persistServer(code: string): void {
    if (this.props.serverEditable) save(this.serverKey, code === this.props.server ? null : code);
  }

  serverCode(): string {
    return this.serverEditor?.getValue() ?? this.$<HTMLTextAreaElement>('.aw-pg-textarea-server').value;
  }

  setServerCode(code: string): void {
    this.$<HTMLTextAreaElement>('.aw-pg-textarea-server').value = code;
    this.serverEditor?.setValue(code);
  }

  private async loadServerEditor(): Promise<void> {
    if (this.serverEditor) return;
    await this.loadHeavy();
    if (this.serverEditor) return;
    const { createEditor } = await import('./editor.ts');
    const textarea = this.$<HTMLTextAreaElement>('.aw-pg-textarea-server');
    const host = this.$('.aw-pg-monaco-server');
    this.serverEditor = createEditor(host, {
      code: textarea.value,
      label: `Code JavaScript du serveur\u00a0: ${this.props.title}`,
      uri: `${lessonKey().replace(/\W+/g, '_')}/${this.props.id}-serveur`,
      onRun: () => void this.run(),
      readOnly: !this.props.serverEditable,
    });
    this.serverEditor.onChange((code) => {
      textarea.value = code;
      this.persistServer(code);
    });
    textarea.hidden = true;
    host.hidden = false;
  }

  code(): string {
    return this.editor?.getValue() ?? this.$<HTMLTextAreaElement>('.aw-pg-textarea').value;
  }

  setCode(code: string): void {
    this.$<HTMLTextAreaElement>('.aw-pg-textarea').value = code;
    this.editor?.setValue(code);
  }

  private status(text: string): void {
    this.$('.aw-pg-status').textContent = text;
  }

  loadHeavy(): Promise<void> {
    this.loading ??= (async () => {
      const [{ createEditor }, { createXterm }] = await Promise.all([import('./editor.ts'), import('./terminal-xterm.ts')]);
      const textarea = this.$<HTMLTextAreaElement>('.aw-pg-textarea');
      const host = this.$('.aw-pg-monaco');
      const hadFocus = document.activeElement === textarea;
      this.editor = createEditor(host, {
        code: textarea.value,
        label: `Code JavaScript\u00a0: ${this.props.title}`,
        uri: `${lessonKey().replace(/\W+/g, '_')}/${this.props.id}`,
        onRun: () => void this.run(),
      });
      this.editor.onChange((code) => {
        textarea.value = code;
        this.persist(code);
      });
      textarea.hidden = true;
      host.hidden = false;
      if (hadFocus) this.editor.focus();
      this.xterm = createXterm(this.$('.aw-pg-xterm'));
      this.xterm.follow = !this.paused;
      this.redraw();
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
    const runBtn = this.$<HTMLButtonElement>('[data-action=run]');
    runBtn.disabled = true;
    for (const name of ['aw:run', 'aw:run-posted', 'aw:first-frame']) performance.clearMarks(name);
    performance.mark('aw:run');
    this.status('Connexion au bac à sable…');
    try {
      const [hello, host] = await Promise.all([this.session.connect(), import('./runner-host.ts')]);
      this.handle?.stop();
      this.runStartSeq = this.lastSeq;
      this.awaitingFrame = true;
      this.events = [];
      this.serverLines = [];
      this.deliveries = new Map();
      this.bytes = { client: 0, server: 0 };
      this.clearView();
      this.$('.aw-pg-console-list').replaceChildren();
      this.renderChecks();
      this.$('[data-action=stop]').removeAttribute('disabled');
      this.dataset.running = 'true';
      const programs = this.programs();
      const server =
        this.hasServer && this.session.host
          ? { code: this.serverCode(), hostUrl: this.session.host.url, secret: this.session.host.secret }
          : undefined;
      this.$('.aw-pg-server-console-list', false)?.replaceChildren();
      this.status(`Exécution en cours (${[...(server ? ['serveur'] : []), ...programs.map((p) => `client ${p.label}`)].join(', ')}).`);
      for (const err of this.editor?.syntaxErrors() ?? []) {
        this.log('A', { t: 'error', kind: 'syntax', text: err.message, line: err.line });
      }
      for (const err of this.serverEditor?.syntaxErrors() ?? []) {
        this.log(host.SERVER_LABEL, { t: 'error', kind: 'syntax', text: err.message, line: err.line });
      }
      this.handle = host.run({
        endpoints: hello.endpoints,
        clients: programs,
        server,
        onMessage: (client, m) => this.log(client, m),
        onStop: (reason) => {
          this.handle = null;
          delete this.dataset.running;
          this.$('[data-action=stop]').setAttribute('disabled', '');
          this.status(
            reason === 'replaced'
              ? 'Arrêté\u00a0: un autre bac à sable de la page a été lancé.'
              : reason === 'timeout'
                ? 'Arrêté après 10 minutes d’exécution.'
                : 'Arrêté.',
          );
        },
      });
    } catch (err) {
      this.status(err instanceof Error ? err.message : String(err));
    } finally {
      runBtn.disabled = false;
    }
  }

  stop(): void {
    this.handle?.stop();
  }

  private lastSeq = 0;
  /** Until the first frame line of a run is drawn (then `performance.mark('aw:first-frame')`). */
  private awaitingFrame = false;

  private onEvent(e: MonitorEvent): void {
    this.lastSeq = Math.max(this.lastSeq, e.seq);
    learnClient(e, this.formatter.clients);
    if (e.type === 'hello' || e.seq <= this.runStartSeq) return;
    this.events.push(e);
    const wire = wireBytes(e);
    if (wire) {
      this.bytes[wire.from] += wire.bytes;
      this.$('.aw-pg-bytes-out').textContent = fmtBytes(this.bytes.client);
      this.$('.aw-pg-bytes-in').textContent = fmtBytes(this.bytes.server);
    }
    if (e.type === 'rooms') this.renderRooms(e);
    if (countDelivery(this.deliveries, e, this.formatter.clients)) this.renderDeliveries();
    if (e.type === 'frame') this.addFrameButton(e);
    const drawn = this.draw(e);
    if (this.awaitingFrame && drawn && e.type === 'frame') {
      this.awaitingFrame = false;
      performance.mark('aw:first-frame', { detail: { playground: this.props.id } });
    }
    this.scheduleChecks();
  }

  /** Checks are judged at most every 100 ms while events and console lines come in. */
  private scheduleChecks(): void {
    if (this.checkTimer) return;
    this.checkTimer = window.setTimeout(() => {
      this.checkTimer = 0;
      this.renderChecks();
    }, 100);
  }

  /** Writes the lines of `e` (filters applied); returns how many. */
  private draw(e: MonitorEvent): number {
    const lines = this.formatter.format(e);
    const sinks: TerminalSink[] = [this.plain];
    if (this.xterm) sinks.push(this.xterm);
    for (const line of lines) for (const s of sinks) s.write(line);
    const said = lines.length ? summary(e, this.formatter) : null;
    if (said && !this.paused) {
      const log = this.$('.aw-pg-a11y-log');
      const p = document.createElement('p');
      p.textContent = said;
      log.append(p);
      while (log.childElementCount > MAX_A11Y_LINES) log.firstElementChild!.remove();
    }
    return lines.length;
  }

  private redraw(): void {
    this.plain.clear();
    this.xterm?.clear();
    const saved = this.paused;
    this.paused = true;
    for (const e of this.events) this.draw(e);
    this.paused = saved;
  }

  private clearView(): void {
    this.plain.clear();
    this.xterm?.clear();
    this.$('.aw-pg-a11y-log').replaceChildren();
    this.$('.aw-pg-frame-list').replaceChildren();
    this.$('.aw-pg-frame-detail').hidden = true;
    this.$('.aw-pg-bytes-out').textContent = fmtBytes(this.bytes.client);
    this.$('.aw-pg-bytes-in').textContent = fmtBytes(this.bytes.server);
  }

  /** Plain text of everything shown in the terminal (tests read it). */
  terminalText(): string {
    return this.plain.toString();
  }

  private log(client: string, m: RuntimeMessage): void {
    // The server's messages go to « Console du serveur », without a client label.
    const fromServer = client === SERVER_LABEL;
    if (fromServer && m.t !== 'truncated') {
      this.serverLines.push(m.text);
      this.scheduleChecks();
    }
    const list = this.$(fromServer ? '.aw-pg-server-console-list' : '.aw-pg-console-list', false) ?? this.$('.aw-pg-console-list');
    const li = document.createElement('div');
    if (m.t === 'truncated') {
      li.textContent = `[${fromServer ? 'serveur' : client}] … trop de messages\u00a0: la suite de la console est ignorée.`;
      li.className = 'aw-warn';
    } else {
      const where = m.line ? ` ligne ${m.line}` : '';
      const kind =
        m.t === 'console'
          ? m.level === 'error'
            ? 'erreur'
            : m.level === 'warn'
              ? 'attention'
              : ''
          : m.kind === 'syntax'
            ? 'erreur de syntaxe'
            : m.kind === 'rejection'
              ? 'promesse rejetée'
              : 'erreur';
      li.className =
        m.t === 'error' || (m.t === 'console' && m.level === 'error')
          ? 'aw-error'
          : m.t === 'console' && m.level === 'warn'
            ? 'aw-warn'
            : '';
      const tag = document.createElement('span');
      tag.className = 'aw-pg-console-tag';
      // The server console has one author: a line number and a kind, no client label.
      const label = fromServer ? where.trim() : `${client}${where}`;
      tag.textContent = `${label ? `[${label}]` : ''}${kind ? ` ${kind}` : ''}`.trim();
      li.append(tag, tag.textContent ? ` ${m.text}` : m.text);
    }
    list.append(li);
    while (list.childElementCount > MAX_CONSOLE) list.firstElementChild!.remove();
    list.scrollTop = list.scrollHeight;
  }

  private renderChecks(): void {
    for (const check of this.props.checks) {
      const li = this.querySelector<HTMLElement>(`[data-check="${CSS.escape(check.id)}"]`);
      if (!li) continue;
      const now = (this.events.length > 0 || this.serverLines.length > 0) && evaluateCheck(check, this.events, this.serverLines).passed;
      if (now) markPassed(this.props.id, check.id);
      const passed = now || isPassed(this.props.id, check.id);
      li.dataset.run = String(now);
      li.dataset.state = passed ? 'passed' : 'pending';
      li.querySelector('.aw-pg-check-mark')!.textContent = passed ? '✓' : '✗';
      li.querySelector('.aw-pg-check-state')!.textContent = passed ? ' (réussi)' : ' (pas encore réussi)';
    }
  }

  private renderRooms(e: Extract<MonitorEvent, { type: 'rooms' }>): void {
    const panel = this.$('.aw-pg-rooms');
    panel.hidden = false;
    let block = panel.querySelector<HTMLElement>(`[data-nsp="${CSS.escape(e.nsp)}"]`);
    if (!block) {
      block = document.createElement('div');
      block.dataset.nsp = e.nsp;
      panel.append(block);
    }
    // Socket ids are resolved through the Socket.IO CONNECT packets seen (per Engine.IO session).
    const who = (id: string) => this.formatter.clients.get(`sio:${id}`) ?? e.sockets[id]?.client ?? `externe (${id})`;
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
    this.renderDeliveries();
  }

  /** Under the rooms: who received which Socket.IO event (shown once rooms are in play). */
  private renderDeliveries(): void {
    const panel = this.$('.aw-pg-rooms');
    if (panel.hidden) return;
    let block = panel.querySelector<HTMLElement>('.aw-pg-deliveries');
    if (!block) {
      block = document.createElement('div');
      block.className = 'aw-pg-deliveries';
    }
    const title = document.createElement('p');
    title.textContent = 'Reçu par chaque client\u00a0:';
    const ul = document.createElement('ul');
    const expected = Array.from({ length: this.props.clients }, (_, i) => clientLabel(i));
    for (const line of describeDeliveries(this.deliveries, expected)) {
      const li = document.createElement('li');
      li.textContent = line;
      ul.append(li);
    }
    block.replaceChildren(title, ul);
    // Kept last, after namespace blocks added since.
    panel.append(block);
  }

  private addFrameButton(e: FrameEvent): void {
    const list = this.$('.aw-pg-frame-list');
    const li = document.createElement('li');
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.dataset.seq = String(e.seq);
    const who = this.formatter.labelOf(e).text;
    const arrow = e.from === 'client' ? `${who} → serveur` : `serveur → ${who}`;
    const text = e.text ? ` «\u00a0${e.text.length > 24 ? e.text.slice(0, 24) + '…' : e.text}\u00a0»` : '';
    btn.textContent = `${arrow} · ${e.opcodeName} · ${e.length}\u00a0o${text}`;
    btn.className = e.opcode >= 8 ? 'aw-control' : '';
    li.append(btn);
    list.prepend(li);
    while (list.childElementCount > MAX_FRAMES) list.lastElementChild!.remove();
  }

  private showFrame(seq: number): void {
    const e = this.events.find((x): x is FrameEvent => x.type === 'frame' && x.seq === seq);
    if (!e) return;
    const panel = this.$('.aw-pg-frame-detail');
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
    // The violation that follows and the connection's 101 tell what the fields alone cannot (RSV1
    // without a negotiated extension, a bad close code…).
    const faults = frameFaults(e, faultContext(this.events, e));
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
    const body = panel.querySelector('.aw-pg-frame-body')!;
    body.replaceChildren(table, dl);
    panel.hidden = false;
    panel.querySelector<HTMLElement>('h4')?.focus();
  }

  private exportJson(): void {
    const blob = new Blob([JSON.stringify(this.events, null, 2)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `atelier-${this.props.id}-evenements.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  private async share(): Promise<void> {
    const url = await shareUrl(this.props.id, this.code(), location.href, this.props.serverEditable ? this.serverCode() : undefined);
    const input = this.$<HTMLInputElement>('.aw-pg-share-url');
    input.value = url;
    input.closest<HTMLElement>('.aw-pg-share')!.hidden = false;
    try {
      await navigator.clipboard.writeText(url);
      this.status('Lien de partage copié dans le presse-papiers.');
    } catch {
      input.select();
      this.status('Copiez le lien de partage affiché ci-dessous.');
    }
  }

  private async showConnect(): Promise<void> {
    const box = this.$('.aw-pg-connect-body');
    try {
      const hello = await this.session.connect();
      const ws = hello.endpoints.ws;
      // A learner-server session has no built-in scenarios: every path reaches the lesson's server.
      const echo = this.hasServer ? ws : `${ws}echo`;
      box.querySelector('.aw-pg-connect-urls')!.textContent = this.hasServer
        ? [`${ws}   (WebSocket\u00a0: le serveur de la leçon, quel que soit le chemin)`, `${hello.endpoints.http}   (HTTP)`].join('\n')
        : hello.scenarios.map((s) => `${ws}${s}`).join('\n');
      box.querySelector('.aw-pg-cmd-wscat')!.textContent = `npx wscat -c "${echo}"`;
      box.querySelector('.aw-pg-cmd-websocat')!.textContent = `websocat "${echo}"`;
      box.querySelector('.aw-pg-cmd-python')!.textContent = `python3 -m websockets "${echo}"`;
      box.querySelector('.aw-pg-cmd-python-script')!.textContent = [
        'import asyncio',
        'from websockets.asyncio.client import connect',
        '',
        'async def main():',
        `    async with connect("${echo}") as ws:`,
        '        await ws.send("Bonjour depuis Python")',
        '        print(await ws.recv())',
        '',
        'asyncio.run(main())',
      ].join('\n');
      box.hidden = false;
    } catch (err) {
      this.status(err instanceof Error ? err.message : String(err));
    }
  }
}

if (!customElements.get('aw-playground')) customElements.define('aw-playground', AwPlayground);
