// Syntax colours for the code while it is still a plain <textarea>: Monaco (4 MB of JavaScript,
// about 1.6 s of CPU per page in Chromium) now loads only when the learner starts editing, so a
// learner who reads and runs sees this instead. A tokenizer small enough to read: comments,
// strings, template literals, numbers, keywords and literals; everything else is plain text. It
// only colours (a regular expression with quotes in it may be coloured as a string); it never
// changes the text: the spans' text is the code, character for character (tested).

export type TokenKind = 'comment' | 'string' | 'number' | 'keyword' | 'literal';

export interface Token {
  kind: TokenKind | null;
  text: string;
}

const KEYWORDS = new Set(
  (
    'async await break case catch class const continue debugger default delete do else export extends finally for ' +
    'from function if import in instanceof let new of return static super switch this throw try typeof var void while yield'
  ).split(' '),
);
const LITERALS = new Set(['true', 'false', 'null', 'undefined', 'NaN', 'Infinity']);

// One alternative per token kind, tried at each position; sticky, so each match starts where the
// previous one ended. Unterminated comments and strings run to the end (of the line for quotes).
const TOKEN =
  /(\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|('(?:\\[\s\S]|[^'\\\n])*'?|"(?:\\[\s\S]|[^"\\\n])*"?|`(?:\\[\s\S]|[^`\\])*`?)|(\b(?:0[xX][\da-fA-F_]+|0[bB][01_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?n?)|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_$][\w$]*)|([^'"`/\w$.]+|[\s\S])/y;

/** The code cut into tokens; their texts joined are the code. */
export function tokenize(code: string): Token[] {
  const out: Token[] = [];
  const push = (kind: TokenKind | null, text: string) => {
    const last = out.at(-1);
    if (last && last.kind === kind) last.text += text;
    else out.push({ kind, text });
  };
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(code); m && m[0] !== ''; m = TOKEN.exec(code)) {
    if (m[1] !== undefined) push('comment', m[1]);
    else if (m[2] !== undefined) push('string', m[2]);
    else if (m[3] !== undefined) push('number', m[3]);
    else if (m[4] !== undefined) push(KEYWORDS.has(m[4]) ? 'keyword' : LITERALS.has(m[4]) ? 'literal' : null, m[4]);
    else push(null, m[0]);
  }
  return out;
}

/** Fills `target` with the code's tokens as text nodes and spans (`aw-tk-<kind>`). */
export function render(target: HTMLElement, code: string): void {
  const doc = target.ownerDocument;
  const nodes = tokenize(code).map((t) => {
    if (!t.kind) return doc.createTextNode(t.text);
    const span = doc.createElement('span');
    span.className = `aw-tk-${t.kind}`;
    span.textContent = t.text;
    return span;
  });
  // A final newline needs a line after it to be drawn, as the textarea draws one.
  nodes.push(doc.createTextNode('\n'));
  target.replaceChildren(...nodes);
}
