// A lesson with a bad frontmatter must fail the real build, naming the file and each field.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyProject } from './project-copy.ts';

describe('frontmatter des leçons', () => {
  it('fait échouer la construction en nommant le fichier et les champs fautifs', () => {
    const work = copyProject('frontmatter');
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
