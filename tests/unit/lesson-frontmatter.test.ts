// A lesson with a bad frontmatter must fail the real build, naming the file and each field.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
// A copy inside the project (.tmp/, ignored): node_modules resolves from the parent folder,
// without the symlink that confuses Vite's module ids.
mkdirSync(join(root, '.tmp'), { recursive: true });
const work = mkdtempSync(join(root, '.tmp', 'atelier-frontmatter-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

function copyProject(): void {
  for (const entry of ['astro.config.mjs', 'tsconfig.json', 'package.json', 'site', 'lessons', 'sandbox-server']) {
    cpSync(join(root, entry), join(work, entry), { recursive: true });
  }
}

describe('frontmatter des leçons', () => {
  it('fait échouer la construction en nommant le fichier et les champs fautifs', () => {
    copyProject();
    const bad = join(work, 'lessons', 'fondations', 'lecon-cassee.mdx');
    writeFileSync(
      bad,
      [
        '---',
        'title: Leçon cassée',
        'sidebar:',
        '  order: deux',
        'objectives:',
        '  - Apprendre',
        'sources:',
        '  - label: RFC 6455',
        '    url: https://www.rfc-editor.org/rfc/rfc6455',
        '---',
        '',
        'Texte.',
        '',
      ].join('\n'),
    );
    const result = spawnSync('npx', ['astro', 'build'], { cwd: work, encoding: 'utf8', timeout: 120_000 });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.status, output).not.toBe(0);
    expect(output).toContain('lecon-cassee.mdx');
    expect(output).toContain('« sidebar.order »');
    expect(output).toContain('« duration »');
  }, 120_000);
});
