// An instructor's loop: `npm run new-lesson` scaffolds a lesson, `npm run dev` shows it with its
// playground (Astro's dev server carries the sandbox on its own port) and reloads lessons on the
// fly. Runs on a copy of the project so the real lessons are never edited. (The scaffold is checked
// through the dev server, not a production build of the copy: that build cost 20 s of CPU in
// `npm test`, and `npm test` builds the real site anyway.)
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import type { MonitorEvent } from '#protocol';
import { copyProject } from './project-copy.ts';

const PORT = 4390 + Math.floor(Math.random() * 50);
const base = `http://127.0.0.1:${PORT}`;
const LESSON = '/fondations/pourquoi-le-temps-reel/';

async function poll<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timeout: ${what}`);
}

describe('npm run new-lesson, puis npm run dev', () => {
  it('crée une leçon que le serveur de développement rend avec son bac à sable, sert le bac à sable sur le même port, et recharge une leçon modifiée', async () => {
    const work = copyProject('dev');

    // The scaffold: a new lesson file, and a refusal to overwrite it.
    const scaffold = spawnSync('npm', ['run', 'new-lesson', '--', 'protocole/essai-formateur', 'Essai du formateur'], {
      cwd: work,
      encoding: 'utf8',
    });
    expect(scaffold.status, scaffold.stderr).toBe(0);
    expect(readFileSync(join(work, 'lessons/protocole/essai-formateur.mdx'), 'utf8')).toContain('title: "Essai du formateur"');
    const again = spawnSync('npm', ['run', 'new-lesson', '--', 'protocole/essai-formateur', 'Encore'], { cwd: work, encoding: 'utf8' });
    expect(again.status).not.toBe(0);

    const dev = spawn('npx', ['astro', 'dev', '--host', '127.0.0.1', '--port', String(PORT)], {
      cwd: work,
      detached: true,
      // Not the test runner's environment (NODE_ENV=test, VITEST…): a learner's shell.
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_ENV' && !k.startsWith('VITEST'))),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    dev.stdout!.on('data', (c: Buffer) => (output += c));
    dev.stderr!.on('data', (c: Buffer) => (output += c));
    onTestFinished(() => {
      try {
        process.kill(-dev.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    });

    const page = await poll(
      'lesson page',
      async () => {
        // The first request makes Vite optimise dependencies (Monaco…): give it time.
        const res = await fetch(base + LESSON, { signal: AbortSignal.timeout(60_000) });
        return res.ok ? res.text() : undefined;
      },
      120_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${output}`);
    });
    expect(page).toContain('lang="fr"');

    // The scaffolded lesson passes the schema and renders with its playground and its exercise.
    const scaffolded = await fetch(`${base}/protocole/essai-formateur/`, { signal: AbortSignal.timeout(60_000) });
    const scaffoldedHtml = await scaffolded.text();
    expect(scaffolded.status, scaffoldedHtml.slice(0, 2000)).toBe(200);
    expect(scaffoldedHtml).toContain('<aw-playground');
    expect(scaffoldedHtml).toContain('Envoyer une trame binaire');

    // The sandbox answers on the same port: a session, its monitor, and the echo scenario.
    const created = await fetch(`${base}/api/sessions`, { method: 'POST' });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const events: MonitorEvent[] = [];
    const monitor = new WebSocket(`ws://127.0.0.1:${PORT}/api/sessions/${id}/monitor`);
    monitor.on('message', (data) => events.push(JSON.parse(String(data)) as MonitorEvent));
    await new Promise((resolve, reject) => monitor.once('open', resolve).once('error', reject));
    const learner = new WebSocket(`ws://127.0.0.1:${PORT}/s/${id}/echo`);
    await new Promise((resolve, reject) => learner.once('open', resolve).once('error', reject));
    learner.send('bonjour du mode dev');
    const frame = await poll(
      'client frame on the monitor',
      async () => events.find((e) => e.type === 'frame' && e.from === 'client' && e.text === 'bonjour du mode dev'),
      10_000,
    );
    expect(frame).toMatchObject({ masked: true, opcode: 1 });
    learner.close();
    monitor.close();

    // Hot reload: an edited lesson is served without restarting.
    appendFileSync(join(work, 'lessons', 'fondations', 'pourquoi-le-temps-reel.mdx'), '\n\nParagraphe ajouté à chaud.\n');
    const reloaded = await poll(
      'edited lesson',
      async () => {
        const html = await (await fetch(base + LESSON, { signal: AbortSignal.timeout(30_000) })).text();
        return html.includes('Paragraphe ajouté à chaud.') ? html : undefined;
      },
      30_000,
    );
    expect(reloaded).toContain('Paragraphe ajouté à chaud.');
  }, 240_000);
});
