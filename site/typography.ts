// French typography applied at build time to lesson prose (never to code): a non-breaking
// space before : ; ! ? and inside « », replacing the ordinary space an author typed.
// Narrow no-break space (U+202F) before ; ! ? and a no-break space (U+00A0) before : and
// inside guillemets, as the Imprimerie nationale recommends.

import { defineMdastPlugin } from 'satteri';

const NBSP = '\u00a0';
const NNBSP = '\u202f';

/** Applies the rules to one run of prose text. */
export function frenchTypography(text: string): string {
  return text
    .replace(/[ \u00a0\u202f]+:(?=\s|$)/g, `${NBSP}:`)
    .replace(/[ \u00a0\u202f]+([;!?])/g, `${NNBSP}$1`)
    .replace(/«[ \u00a0\u202f]*/g, `«${NBSP}`)
    .replace(/[ \u00a0\u202f]*»/g, `${NBSP}»`);
}

/**
 * Sätteri mdast plugin (Astro 7's Markdown/MDX processor): rewrites prose text nodes only.
 * Code spans, code blocks and MDX expressions are other node types, so they stay intact.
 */
export const frenchTypographyPlugin = defineMdastPlugin({
  name: 'french-typography',
  text(node, ctx) {
    const value = frenchTypography(node.value);
    if (value !== node.value) ctx.setProperty(node, 'value', value);
  },
});
