// ES `import` declarations of learner server code, turned into `require` calls before the code
// runs (it runs as a script, where `import` is a syntax error). Only the forms a server file uses
// at its top are rewritten; each keeps its lines, so error line numbers stay the learner's.
// Pure: a text in, a text out.

/** `import … from '…'` (default, namespace, named, default + named), and `import '…'`. */
const IMPORT = /^([ \t]*)import\s+(?:([\s\S]*?)\s+from\s+)?(['"])([^'"\n]+)\3[ \t]*;?/gm;

/** `{ a, b as c }` → `{ a, b: c }` (destructuring spells renames with a colon). */
function namedBindings(list: string): string {
  return list.replace(/([A-Za-z_$][\w$]*)\s+as\s+([A-Za-z_$][\w$]*)/g, '$1: $2');
}

/** The `const …` text for one import clause, or null when the clause is not understood. */
function declaration(clause: string, module: string): string | null {
  const req = `require(${JSON.stringify(module)})`;
  // Interop as bundlers do: a CommonJS module's `default` is the module itself.
  const dflt = (name: string) => `const ${name} = ((m) => (m && m.__esModule ? m.default : m))(${req});`;
  const c = clause.trim();
  let m = /^\*\s+as\s+([A-Za-z_$][\w$]*)$/.exec(c);
  if (m) return `const ${m[1]} = ${req};`;
  m = /^([A-Za-z_$][\w$]*)$/.exec(c);
  if (m) return dflt(m[1]);
  m = /^(\{[\s\S]*\})$/.exec(c);
  if (m) return `const ${namedBindings(m[1])} = ${req};`;
  m = /^([A-Za-z_$][\w$]*)\s*,\s*(\{[\s\S]*\})$/.exec(c);
  if (m) return `${dflt(m[1])} const ${namedBindings(m[2])} = ${req};`;
  m = /^([A-Za-z_$][\w$]*)\s*,\s*\*\s+as\s+([A-Za-z_$][\w$]*)$/.exec(c);
  if (m) return `${dflt(m[1])} const ${m[2]} = ${req};`;
  return null;
}

export function importsToRequire(code: string): string {
  return code.replace(IMPORT, (whole: string, indent: string, clause: string | undefined, _q: string, module: string) => {
    // `import type …` is TypeScript: not for this JavaScript editor, left for the parser to report.
    if (clause !== undefined && /^type\s/.test(clause.trim())) return whole;
    const text = clause === undefined ? `require(${JSON.stringify(module)});` : declaration(clause, module);
    if (text === null) return whole;
    // As many lines as the declaration took, so that later line numbers do not move.
    const newlines = whole.split('\n').length - 1;
    return indent + text.replace(/\n/g, ' ') + '\n'.repeat(newlines);
  });
}
