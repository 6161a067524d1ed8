// The code: « client.js » and, with server code, « serveur.js » (file tabs). Each file is a plain
// <textarea>, coloured by code-highlight.ts, until the learner starts editing it (pointer, focus or
// key in it): Monaco replaces it then, file by file. Reading and running a lesson never loads
// Monaco (4 MB of JavaScript; 1.6 s of CPU per page in Chromium, measured). Each file is saved per
// lesson in localStorage (the server's only when editable), travels in share links, and is
// restored by « Réinitialiser » or replaced by « Solution ».
import { render } from './code-highlight.ts';
import { setupCodeTabs } from './code-tabs.ts';
import type { EditorHandle } from './editor.ts';
import { $, type Part, type PartContext } from './parts.ts';
import { serverKey, sharedCode, shareUrl } from './share.ts';
import { lessonKey, load, save } from './storage.ts';

export type MarkedError = { line: number; message: string };

export interface Editors extends Part {
  code(): string;
  setCode(code: string): void;
  /** « serveur.js » ('' without server code). */
  serverCode(): string;
  setServerCode(code: string): void;
  /** Syntax errors Monaco marks in each file (none before it is loaded). */
  syntaxErrors(): { client: MarkedError[]; server: MarkedError[] };
}

interface FileOptions {
  textarea: HTMLTextAreaElement;
  /** Where Monaco goes (hidden until then). */
  host: HTMLElement;
  /** localStorage key of the learner's version. */
  key: string;
  /** Is the learner's version saved (and loaded)? */
  saved: boolean;
  /** The lesson's code: saving it is forgetting the learner's version. */
  starter: string;
  label: string;
  uri: string;
  readOnly?: boolean;
}

/** One code file: its coloured textarea, then its Monaco editor; saved as it changes. */
class CodeFile {
  private editor: EditorHandle | null = null;
  private readonly o: FileOptions;
  /** The colours drawn under the textarea's transparent text (removed with the textarea's turn). */
  private readonly colours: HTMLPreElement;

  constructor(o: FileOptions, edit: (file: CodeFile) => void) {
    this.o = o;
    const stored = o.saved ? load(o.key) : null;
    if (stored !== null) o.textarea.value = stored;
    this.colours = document.createElement('pre');
    this.colours.className = 'aw-pg-colours';
    this.colours.setAttribute('aria-hidden', 'true');
    o.textarea.before(this.colours);
    o.textarea.classList.add('aw-pg-coloured');
    this.paint();
    o.textarea.addEventListener('input', () => {
      this.persist(o.textarea.value);
      this.paint();
    });
    o.textarea.addEventListener('scroll', () => {
      this.colours.scrollTop = o.textarea.scrollTop;
      this.colours.scrollLeft = o.textarea.scrollLeft;
    });
    // The first of these starts Monaco, once.
    const triggers = ['pointerdown', 'focus', 'keydown'] as const;
    const start = () => {
      for (const type of triggers) o.textarea.removeEventListener(type, start);
      edit(this);
    };
    for (const type of triggers) o.textarea.addEventListener(type, start);
  }

  private paint(): void {
    if (!this.editor) render(this.colours, this.o.textarea.value);
  }

  code(): string {
    return this.editor?.getValue() ?? this.o.textarea.value;
  }

  set(code: string): void {
    this.o.textarea.value = code;
    this.editor?.setValue(code);
    this.paint();
  }

  persist(code: string): void {
    if (this.o.saved) save(this.o.key, code === this.o.starter ? null : code);
  }

  /** Forgets the learner's version. */
  forget(): void {
    save(this.o.key, null);
  }

  syntaxErrors(): MarkedError[] {
    return this.editor?.syntaxErrors() ?? [];
  }

  /** Replaces the textarea with Monaco, keeping the focus. */
  mount(createEditor: typeof import('./editor.ts').createEditor, onRun: () => void): void {
    if (this.editor) return;
    const { textarea, host } = this.o;
    const hadFocus = document.activeElement === textarea;
    this.editor = createEditor(host, { code: textarea.value, label: this.o.label, uri: this.o.uri, onRun, readOnly: this.o.readOnly });
    this.editor.onChange((code) => {
      textarea.value = code;
      this.persist(code);
    });
    textarea.hidden = true;
    this.colours.remove();
    host.hidden = false;
    // The caret stays where the learner put it in the textarea.
    if (hadFocus) this.editor.focus(textarea.selectionStart);
  }
}

export function editorsPart(ctx: Pick<PartContext, 'root' | 'props' | 'status' | 'runCode' | 'loadHeavy'>): Editors {
  const { root, props } = ctx;
  const storageKey = `aw:code:${lessonKey()}:${props.id}`;
  const uri = `${lessonKey().replace(/\W+/g, '_')}/${props.id}`;
  // The learner starts editing a file: Monaco for it (the rest of the playground loads with it if it
  // had not yet). If Monaco cannot load, the status line says so and the textarea keeps working.
  const edit = (file: CodeFile) => {
    void ctx
      .loadHeavy()
      .then(() => import('./editor.ts'))
      .then(({ createEditor }) => file.mount(createEditor, ctx.runCode))
      .catch((err) => ctx.status(`Chargement de l’éditeur impossible\u00a0: ${String(err)}`));
  };
  const client = new CodeFile(
    {
      textarea: $<HTMLTextAreaElement>(root, '.aw-pg-textarea'),
      host: $(root, '.aw-pg-monaco'),
      key: storageKey,
      saved: true,
      starter: props.code,
      label: `Code JavaScript\u00a0: ${props.title}`,
      uri,
    },
    edit,
  );
  const server =
    props.server === undefined
      ? null
      : new CodeFile(
          {
            textarea: $<HTMLTextAreaElement>(root, '.aw-pg-textarea-server'),
            host: $(root, '.aw-pg-monaco-server'),
            key: `${storageKey}:serveur`,
            saved: !!props.serverEditable,
            starter: props.server,
            label: `Code JavaScript du serveur\u00a0: ${props.title}`,
            uri: `${uri}-serveur`,
            readOnly: !props.serverEditable,
          },
          edit,
        );

  $(root, '.aw-pg-textarea').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      ctx.runCode();
    }
  });

  if (server) setupCodeTabs($(root, '.aw-pg-tabs'));

  // Code from a share link: loaded, never run. An editable « serveur.js » travels in the link too
  // (a read-only one is the lesson's).
  void sharedCode(props.id).then((code) => {
    if (code === null) return;
    client.set(code);
    client.persist(code);
    ctx.status('Code chargé depuis un lien partagé. Appuyez sur «\u00a0Exécuter\u00a0» pour le lancer.');
  });
  if (server && props.serverEditable) {
    void sharedCode(serverKey(props.id)).then((code) => {
      if (code === null) return;
      server.set(code);
      server.persist(code);
    });
  }

  $(root, '[data-action=reset]').addEventListener('click', () => {
    client.set(props.code);
    client.forget();
    if (server) {
      server.set(props.server ?? '');
      server.forget();
    }
    ctx.status('Code de départ restauré.');
  });
  root.querySelector('[data-action=solution]')?.addEventListener('click', () => {
    if (props.solution !== undefined) {
      client.set(props.solution);
      client.persist(props.solution);
    }
    if (server && props.serverSolution !== undefined) {
      server.set(props.serverSolution);
      server.persist(props.serverSolution);
    }
    ctx.status('Solution chargée dans l’éditeur.');
  });

  const share = async () => {
    const url = await shareUrl(props.id, client.code(), location.href, server && props.serverEditable ? server.code() : undefined);
    const input = $<HTMLInputElement>(root, '.aw-pg-share-url');
    input.value = url;
    input.closest<HTMLElement>('.aw-pg-share')!.hidden = false;
    try {
      await navigator.clipboard.writeText(url);
      ctx.status('Lien de partage copié dans le presse-papiers.');
    } catch {
      input.select();
      ctx.status('Copiez le lien de partage affiché ci-dessous.');
    }
  };
  $(root, '[data-action=share]').addEventListener('click', () => void share());

  return {
    code: () => client.code(),
    setCode: (code) => client.set(code),
    serverCode: () => server?.code() ?? '',
    setServerCode: (code) => server?.set(code),
    syntaxErrors: () => ({ client: client.syntaxErrors(), server: server?.syntaxErrors() ?? [] }),
  };
}
