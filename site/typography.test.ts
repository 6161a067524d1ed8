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
