// `npm run new-lesson` must scaffold a lesson that passes the schema and builds with its
// playground. The generic e2e test (tests/e2e/lessons.spec.ts) then runs it like any lesson.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyProject } from './project-copy.ts';

describe('npm run new-lesson', () => {
  it('crée une leçon qui se construit avec son bac à sable et son exercice', () => {
    const work = copyProject('new-lesson');

    const created = spawnSync('npm', ['run', 'new-lesson', '--', 'protocole/essai-formateur', 'Essai du formateur'], {
      cwd: work,
      encoding: 'utf8',
    });
    expect(created.status, created.stderr).toBe(0);
    const source = readFileSync(join(work, 'lessons/protocole/essai-formateur.mdx'), 'utf8');
    expect(source).toContain('title: "Essai du formateur"');

    const again = spawnSync('npm', ['run', 'new-lesson', '--', 'protocole/essai-formateur', 'Encore'], { cwd: work, encoding: 'utf8' });
    expect(again.status).not.toBe(0);

    const build = spawnSync('npx', ['astro', 'build'], { cwd: work, encoding: 'utf8', timeout: 240_000 });
    expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);
    const page = join(work, 'dist/protocole/essai-formateur/index.html');
    expect(existsSync(page)).toBe(true);
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('<aw-playground');
    expect(html).toContain('Envoyer une trame binaire');
  }, 240_000);
});
