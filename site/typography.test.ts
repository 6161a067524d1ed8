import { describe, expect, it } from 'vitest';
import { frenchTypography, frenchTypographyPlugin } from './typography.ts';

describe('typographie française', () => {
  it('insère une espace insécable avant la ponctuation haute', () => {
    expect(frenchTypography('Pourquoi ? Parce que ; voilà : fini !')).toBe('Pourquoi\u202f? Parce que\u202f; voilà\u00a0: fini\u202f!');
  });
  it('garde les guillemets serrés par des insécables', () => {
    expect(frenchTypography('le bouton « Exécuter » et «Arrêter»')).toBe('le bouton «\u00a0Exécuter\u00a0» et «\u00a0Arrêter\u00a0»');
  });
  it('ne touche pas aux deux-points collés (URL, heures)', () => {
    expect(frenchTypography('ws://127.0.0.1:4321/ à 10:30')).toBe('ws://127.0.0.1:4321/ à 10:30');
  });
  it('lie un nombre à son unité par une espace insécable', () => {
    expect(frenchTypography('toutes les 5 s, 10 ms de latence, 2 min, 1 h, 3 jours')).toBe(
      'toutes les 5\u00a0s, 10\u00a0ms de latence, 2\u00a0min, 1\u00a0h, 3\u00a0jours',
    );
    expect(frenchTypography('125 octets, 64 Kio, 1,5 Mo, 0.5 Go, 16 bits, 1 bit, 8 o, 4 ko')).toBe(
      '125\u00a0octets, 64\u00a0Kio, 1,5\u00a0Mo, 0.5\u00a0Go, 16\u00a0bits, 1\u00a0bit, 8\u00a0o, 4\u00a0ko',
    );
    expect(frenchTypography('soit 5 Mo/s, ou 40 Mbit/s (1,6 Gbit/s), 250 Ko/s')).toBe(
      'soit 5\u00a0Mo/s, ou 40\u00a0Mbit/s (1,6\u00a0Gbit/s), 250\u00a0Ko/s',
    );
    // already a no-break space, or several spaces: one U+00A0
    expect(frenchTypography('5\u202fs et 6  s')).toBe('5\u00a0s et 6\u00a0s');
  });
  it('laisse les mots ordinaires, les versions et les mots qui commencent par une unité', () => {
    for (const text of [
      'il y en 2 a', // « a » n’est pas une unité
      '3 trames, 2 messages, 4 clients',
      'HTTP/1.1 h2, v4 s', // une version n’est pas un nombre
      '5 secondaires', // « s » ou « seconde » au début d’un mot
      '2 s’ajoutent', // apostrophe : un mot, pas une unité
      '3 ordres, 4 hôtes, 10 minuteurs',
      '3 h/jour',
      'le client 2 B',
    ]) {
      expect(frenchTypography(text)).toBe(text);
    }
  });
  it('une espace fine insécable avant %, même quand l’auteur n’en a pas mis, jamais dans un encodage %XX', () => {
    expect(frenchTypography('50 % des cas, 100% du temps.')).toBe('50\u202f% des cas, 100\u202f% du temps.');
    expect(frenchTypography('chemin /a%20b et 3%2F')).toBe('chemin /a%20b et 3%2F');
  });
  it('groupe les chiffres des grands nombres par des espaces fines insécables', () => {
    expect(frenchTypography('100 000 × 50 octets = 5 000 000 octets, 65\u00a0536 et plus')).toBe(
      '100\u202f000 × 50\u00a0octets = 5\u202f000\u202f000\u00a0octets, 65\u202f536 et plus',
    );
    // not one number: a 4-digit group, a 2-digit group, a decimal tail
    for (const text of ['les codes 1000 1001', 'de 12 34', 'RFC 6455 125', '0,5 125']) {
      expect(frenchTypography(text)).toBe(text);
    }
  });
  it('laisse le code intact dans un vrai rendu Markdown', async () => {
    const { markdownToHtml } = await import('satteri');
    const { html } = markdownToHtml('Regardez ceci : `a ? b : c`\n\n```js\nx ? y : z\n```\n', {
      mdastPlugins: [frenchTypographyPlugin],
    });
    expect(html).toContain('Regardez ceci\u00a0:');
    expect(html).toContain('<code>a ? b : c</code>');
    expect(html).toContain('x ? y : z');
  });
});

describe('typographie française dans une leçon MDX', () => {
  it('espaces des unités dans la prose, jamais dans le code ni dans les attributs JSX', async () => {
    const { markdownToHtml, mdxToJs } = await import('satteri');
    const source = [
      'Attendez 5 s, soit 100 000 octets et 50 %.',
      '',
      'En code : `setTimeout(f, 5 s)`, `100 000 octets`, `50 %`.',
      '',
      '```js',
      '// 5 s, 100 000 octets, 50 %',
      '```',
      '',
    ].join('\n');
    const { html } = markdownToHtml(source, { mdastPlugins: [frenchTypographyPlugin] });
    expect(html).toContain('Attendez 5\u00a0s, soit 100\u202f000\u00a0octets et 50\u202f%.');
    expect(html).toContain('<code>setTimeout(f, 5 s)</code>');
    expect(html).toContain('<code>100 000 octets</code>');
    expect(html).toContain('<code>50 %</code>');
    expect(html).toContain('// 5 s, 100 000 octets, 50 %');
    // MDX: a component prop (a Playground's code) is not prose
    const mdx = `${source}\n<Demo code="attendre 5 s, 100 000 octets" />\n`;
    const { code } = mdxToJs(mdx, { mdastPlugins: [frenchTypographyPlugin] });
    expect(code).toContain('attendre 5 s, 100 000 octets');
    // the compiled JS escapes U+00A0 as \\xA0
    expect(code).toContain('Attendez 5\\xA0s');
  });
});
