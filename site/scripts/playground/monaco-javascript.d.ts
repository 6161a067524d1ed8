// Monaco ships no types for its language definitions; this one is imported for its Monarch
// tokenizer and language configuration (see editor.ts).
declare module 'monaco-editor/languages/definitions/javascript/javascript.js' {
  import type { languages } from 'monaco-editor';
  export const conf: languages.LanguageConfiguration;
  export const language: languages.IMonarchLanguage;
}
