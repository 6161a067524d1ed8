// `npm run new-lesson -- <partie>/<slug> "Titre"`: scaffolds a lesson that builds and passes
// the generic lesson tests (its starter runs; its exercise fails with the starter and passes
// with the solution). The instructor then replaces the prose, code and checks.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parts } from '../site/course-parts.ts';

const [target, ...titleWords] = process.argv.slice(2);
const title = titleWords.join(' ').trim();
const match = /^([a-z0-9-]+)\/([a-z0-9-]+)$/.exec(target ?? '');
const partDirs = parts.map((p) => p.dir);

function fail(message: string): never {
  console.error(`${message}\nUsage\u00a0: npm run new-lesson -- <partie>/<slug> "Titre de la leçon"`);
  console.error(`Parties\u00a0: ${partDirs.join(', ')}`);
  process.exit(2);
}

if (!match) fail('Chemin attendu\u00a0: «\u00a0partie/slug\u00a0» en minuscules, chiffres et tirets.');
if (!title) fail('Titre manquant.');
const [, part, slug] = match;
if (!partDirs.includes(part)) fail(`Partie inconnue\u00a0: «\u00a0${part}\u00a0».`);

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'lessons', part);
const file = join(dir, `${slug}.mdx`);
if (existsSync(file)) fail(`La leçon existe déjà\u00a0: lessons/${part}/${slug}.mdx`);
mkdirSync(dir, { recursive: true });
const order = readdirSync(dir).filter((f) => /\.mdx?$/.test(f)).length + 1;

const lesson = `---
title: ${JSON.stringify(title)}
description: Une phrase qui résume la leçon.
sidebar:
  order: ${order}
duration: 15
objectives:
  - Écrire ici ce que l’apprenant saura faire à la fin.
sources:
  - label: RFC 6455 — The WebSocket Protocol
    url: https://www.rfc-editor.org/rfc/rfc6455
---
import Playground from '~/components/Playground.astro';

Remplacez ce texte par la leçon. Chaque affirmation technique doit renvoyer à une source
normative (RFC 6455, standard WHATWG, documentation Socket.IO).

<Playground
  id="premier-essai"
  title="Envoyer un message binaire"
  code={\`// Ouvre une connexion vers le scénario « echo » du bac à sable.
const ws = new WebSocket(sandbox.url('echo'));
ws.onopen = () => ws.send('bonjour');
ws.onmessage = (event) => console.log('reçu :', event.data);
\`}
  solution={\`const ws = new WebSocket(sandbox.url('echo'));
ws.binaryType = 'arraybuffer';
ws.onopen = () => ws.send(new Uint8Array([1, 2, 3]));
ws.onmessage = (event) => console.log('reçu :', event.data);
\`}
  expect={[{ type: 'frame', from: 'client', opcode: 1 }]}
  checks={[
    {
      id: 'binaire',
      label: 'Envoyer une trame binaire',
      expect: { type: 'frame', from: 'client', opcode: 2 },
    },
  ]}
/>
`;

writeFileSync(file, lesson);
console.log(`Leçon créée\u00a0: lessons/${part}/${slug}.mdx (position ${order} dans «\u00a0${part}\u00a0»).`);
console.log('Lancez «\u00a0npm run dev\u00a0» pour la voir, puis «\u00a0npm test\u00a0» pour la vérifier.');
