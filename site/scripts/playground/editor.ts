// Monaco, loaded lazily: this module is imported only when the learner starts editing a file
// (part-editors.ts), and with it the TypeScript language service (a 6.9 MB worker: 2.4 s of CPU per
// page in Chromium, measured). JavaScript with IntelliSense for Worker globals (WebSocket, fetch,
// EventSource), `sandbox` and `io`; follows Starlight's theme; Ctrl/Cmd+Enter runs.
import * as monaco from 'monaco-editor';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import TsWorker from 'monaco-editor/languages/features/typescript/ts.worker?worker';
import { LEARNER_DECLARATIONS } from './learner-types.ts';

let configured = false;

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
  /** Focuses the editor, the caret at `offset` (UTF-16 code units into the code) when given. */
  focus(offset?: number): void;
  dispose(): void;
}

export function createEditor(
  container: HTMLElement,
  opts: { code: string; label: string; uri: string; onRun(): void; readOnly?: boolean },
): EditorHandle {
  configure();
  const uri = monaco.Uri.parse(`file:///${opts.uri}.js`);
  monaco.editor.getModel(uri)?.dispose();
  const model = monaco.editor.createModel(opts.code, 'javascript', uri);
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
    focus: (offset) => {
      if (offset !== undefined) editor.setPosition(model.getPositionAt(offset));
      editor.focus();
    },
    dispose: () => {
      editor.dispose();
      model.dispose();
    },
  };
}
