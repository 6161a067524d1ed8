// MDX removes up to two columns of leading whitespace from every continuation line of a JSX
// attribute expression, so `code={`…`}` in a lesson would lose one indentation level. This
// rewrites the leading whitespace of lines inside attribute template literals (`={`…`}`) as
// escapes (`\x20`, `\t`), which MDX leaves alone and JavaScript turns back into the same spaces.

/** Rewrites attribute template literals of an MDX source; other text is returned unchanged. */
export function protectTemplateIndentation(source: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const start = source.indexOf('={`', i);
    if (start < 0) return out + source.slice(i);
    const bodyStart = start + 3;
    const end = findClosingBacktick(source, bodyStart);
    if (end < 0) return out + source.slice(i);
    const body = source.slice(bodyStart, end);
    out += source.slice(i, bodyStart) + escapeIndentation(body);
    i = end;
  }
}

/** Index of the backtick closing a template literal starting at `from` (escapes and ${…} skipped). */
function findClosingBacktick(s: string, from: number): number {
  let depth = 0;
  for (let j = from; j < s.length; j++) {
    const c = s[j];
    if (c === '\\') {
      j++;
    } else if (depth === 0 && c === '`') {
      return j;
    } else if (c === '$' && s[j + 1] === '{') {
      depth++;
      j++;
    } else if (depth > 0 && c === '}') {
      depth--;
    }
  }
  return -1;
}

function escapeIndentation(body: string): string {
  return body.replace(/\n([ \t]+)/g, (_, ws: string) => '\n' + ws.replace(/ /g, '\\x20').replace(/\t/g, '\\t'));
}
