// Differential tests, the fidelity bar of the learner-server façade: each program of the corpus
// runs as a real Node program (real ws / socket.io / http) and as learner code in the sandbox
// (façade + relay), driven by the same client script; what went over the wire must be the same
// (tests/differential/README.md). DIFFERENTIAL_DUMP=<dir> writes both traces of each program there.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../../sandbox-server/test-helpers.ts';
import type { TestApp } from '../../sandbox-server/test-helpers.ts';
import { echo } from './corpus/echo.ts';
import { CORPUS } from './corpus/index.ts';
import { missingPackages, runReal, runSandbox } from './harness.ts';
import type { Program } from './harness.ts';
import { sandboxLimits } from './trace.ts';
import type { Trace } from './trace.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t.close());

const results: Array<{ name: string; result: string; ms: number; notes: string[] }> = [];
afterAll(() => {
  const rows = results.map((r) => `${r.name.padEnd(20)} ${r.result.padEnd(28)} ${String(r.ms).padStart(5)} ms`);
  const notes = results.flatMap((r) => r.notes.filter((n) => !n.includes('Serveur à l’écoute')).map((n) => `${r.name}: ${n}`));
  console.log(`\n${rows.join('\n')}${notes.length ? `\nsandbox notes:\n${notes.join('\n')}` : ''}`);
});

async function compare(program: Program): Promise<void> {
  const started = Date.now();
  let result = 'different';
  let notes: string[] = [];
  try {
    const real = await runReal(program);
    const sandbox = await runSandbox(t, program);
    notes = sandbox.notes;
    if (process.env.DIFFERENTIAL_DUMP) {
      mkdirSync(process.env.DIFFERENTIAL_DUMP, { recursive: true });
      writeFileSync(join(process.env.DIFFERENTIAL_DUMP, `${program.name}.json`), JSON.stringify({ real, sandbox }, null, 2));
    }
    let patched: Trace = sandboxLimits(sandbox.trace);
    // Each known difference must still be there (once the façade is fixed, its entry goes), and
    // nothing else may differ.
    for (const k of program.known ?? []) {
      const next = k.apply(patched);
      expect(next, `known difference no longer seen, remove it: ${k.what}`).not.toEqual(patched);
      patched = next;
    }
    expect(patched).toEqual(real.trace);
    result = program.known?.length ? `known difference (${program.known.length})` : 'equal';
  } finally {
    results.push({ name: program.name, result, ms: Date.now() - started, notes });
  }
}

describe('differential: real Node program vs learner code in the sandbox', () => {
  for (const program of CORPUS) {
    const missing = missingPackages(program);
    // The real run needs the real package (the guide's express is no dependency of the project).
    if (missing.length > 0) it.todo(`${program.name}: the real run needs ${missing.join(', ')} (npm install -D ${missing.join(' ')})`);
    else it(program.name, () => compare(program));
  }

  it('sees a deliberate difference (the comparison can fail)', async () => {
    const real = await runReal(echo);
    // A scratch copy of the echo whose answer lost its accent.
    const altered = await runSandbox(t, { ...echo, server: echo.server.replace("'écho : '", "'echo : '") });
    const diff = (altered.trace.connections[0] ?? []).filter((line) => !real.trace.connections[0]?.includes(line));
    expect(diff).toContain('server text "echo : bonjour"');
    expect(sandboxLimits(altered.trace)).not.toEqual(real.trace);
  });
});
