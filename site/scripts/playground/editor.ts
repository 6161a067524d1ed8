// Monaco, loaded lazily (this module is only imported when a playground comes into view or is
// touched). JavaScript with IntelliSense for Worker globals (WebSocket, fetch, EventSource),
// `sandbox` and `io`; follows Starlight's theme; Ctrl/Cmd+Enter runs.
//
// The TypeScript language service (a 6.9 MB worker: 2.4 s of CPU per page, measured in Chromium)
// starts only when the learner focuses or edits a file: until then the model uses `aw-javascript`,
// the same JavaScript highlighting without a language service. A learner who only reads and runs
// never pays for it; a syntax error in code set by a button (Solution, a share link) is still
// reported with its line by the runner when it runs.
import * as monaco from 'monaco-editor';
import { conf as jsConf, language as jsLanguage } from 'monaco-editor/languages/definitions/javascript/javascript.js';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import TsWorker from 'monaco-editor/languages/features/typescript/ts.worker?worker';
import { LEARNER_DECLARATIONS } from './learner-types.ts';

let configured = false;

/** JavaScript highlighting alone, until the learner touches the file. */
const LIGHT_JS = 'aw-javascript';

function configure(): void {
  if (configured) return;
  configured = true;
  (self as unknown as { MonacoEnvironment: monaco.Environment }).MonacoEnvironment = {
    getWorker: (_id, label) => (label === 'typescript' || label === 'javascript' ? new TsWorker() : new EditorWorker()),
  };
  const js = monaco.typescript.javascriptDefaults;
  js.setCompilerOptions({
    target: monaco.typescript.ScriptTarget.ESNext,
    allowJs: true,
    checkJs: false,
    allowNonTsExtensions: true,
    // Learner code runs in a Worker: WebSocket, fetch and EventSource, no DOM.
    lib: ['esnext', 'webworker'],
  });
  js.setDiagnosticsOptions({ noSemanticValidation: true, noSyntaxValidation: false });
  js.addExtraLib(LEARNER_DECLARATIONS, 'ts:atelier/learner-globals.d.ts');
  monaco.languages.register({ id: LIGHT_JS });
  monaco.languages.setMonarchTokensProvider(LIGHT_JS, jsLanguage);
  monaco.languages.setLanguageConfiguration(LIGHT_JS, jsConf);
  const observer = new MutationObserver(() => monaco.editor.setTheme(themeName()));
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
}

const themeName = () => (document.documentElement.dataset.theme === 'light' ? 'vs' : 'vs-dark');

export interface EditorHandle {
  getValue(): string;
  setValue(code: string): void;
  onChange(listener: (code: string) => void): void;
  /** Syntax errors currently marked (line, message). */
  syntaxErrors(): { line: number; message: string }[];
  focus(): void;
  dispose(): void;
}

export function createEditor(
  container: HTMLElement,
  opts: { code: string; label: string; uri: string; onRun(): void; readOnly?: boolean },
): EditorHandle {
  configure();
  const uri = monaco.Uri.parse(`file:///${opts.uri}.js`);
  monaco.editor.getModel(uri)?.dispose();
  const model = monaco.editor.createModel(opts.code, LIGHT_JS, uri);
  const editor = monaco.editor.create(container, {
    model,
    theme: themeName(),
    automaticLayout: true,
    minimap: { enabled: false },
    fontSize: 14,
    lineNumbers: 'on',
    scrollBeyondLastLine: false,
    tabSize: 2,
    ariaLabel: opts.label,
    fixedOverflowWidgets: true,
    renderFinalNewline: 'on',
    readOnly: opts.readOnly ?? false,
  });
  editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.Enter, () => opts.onRun());
  // The learner's first focus or edit brings the language service (markers, hovers, completion).
  // A flush is a whole-file replacement by code (Solution, Réinitialiser), not the learner typing.
  const upgrade = () => {
    if (model.getLanguageId() === LIGHT_JS) monaco.editor.setModelLanguage(model, 'javascript');
    focused.dispose();
    edited.dispose();
  };
  const focused = editor.onDidFocusEditorText(upgrade);
  const edited = model.onDidChangeContent((e) => {
    if (!e.isFlush) upgrade();
  });
  return {
    getValue: () => model.getValue(),
    setValue: (code) => {
      if (model.getValue() !== code) model.setValue(code);
    },
    onChange: (listener) => {
      model.onDidChangeContent(() => listener(model.getValue()));
    },
    syntaxErrors: () =>
      monaco.editor
        .getModelMarkers({ resource: uri })
        .filter((m) => m.severity === monaco.MarkerSeverity.Error)
        .map((m) => ({ line: m.startLineNumber, message: m.message })),
    focus: () => editor.focus(),
    dispose: () => {
      editor.dispose();
      model.dispose();
    },
  };
}
