// French typography applied at build time to lesson prose (never to code): a non-breaking
// space before : ; ! ?, inside « », between the digit groups of a number and between a
// number and its unit, replacing the ordinary space an author typed.
// Narrow no-break space (U+202F, the « espace fine insécable » of the Imprimerie nationale)
// before ; ! ? and %, and between digit groups (« 65 536 »); a no-break space (U+00A0)
// before :, inside guillemets and between a number and a unit symbol or word (« 5 s » is
// spaced like « 5 secondes »).

import { defineMdastPlugin } from 'satteri';

const NBSP = '\u00a0';
const NNBSP = '\u202f';

/**
 * Units that get a no-break space after a number: time, sizes (SI and binary prefixes,
 * French and English symbols), bit rates, and the unit words themselves. A unit may be
 * followed by « /s », « /min » or « /h » (« 5 Mo/s »). The list is closed on purpose: a
 * number followed by an ordinary word (« 2 a », « 3 trames ») is left alone.
 */
export const UNITS = [
  // time
  'ns',
  'µs',
  'μs',
  'ms',
  's',
  'min',
  'h',
  'nanosecondes',
  'microsecondes',
  'millisecondes',
  'milliseconde',
  'secondes',
  'seconde',
  'minutes',
  'minute',
  'heures',
  'heure',
  'jours',
  'jour',
  // sizes
  'o',
  'ko',
  'Ko',
  'kio',
  'Kio',
  'Mo',
  'Mio',
  'Go',
  'Gio',
  'To',
  'Tio',
  'kB',
  'KB',
  'KiB',
  'MB',
  'MiB',
  'GB',
  'GiB',
  'octets',
  'octet',
  'kilooctets',
  'kilooctet',
  'mégaoctets',
  'mégaoctet',
  'bits',
  'bit',
  'kbit',
  'Kbit',
  'Mbit',
  'Gbit',
  'kbps',
  'Mbps',
  'Gbps',
  // frequency
  'Hz',
  'kHz',
] as const;

const alternatives = [...UNITS].sort((a, b) => b.length - a.length).join('|');
// A number: digits, with a decimal or grouping separator inside (« 1,5 », « 0.5 », « 1 000 »:
// only the last group, next to the unit, matters). Not the tail of a word or of a version
// (« v4 s », « HTTP/1.1 h » are not quantities): the number may not follow a letter, a digit,
// « _ », « . » or « , ».
const NUMBER = String.raw`(?<![\p{L}\p{N}_.,])(\p{N}(?:[\p{N}.,]*\p{N})?)`;
// The unit ends the word: no letter, digit, « _ », apostrophe or « / » may follow it
// (« 5 s’ », « 2 min_x », « 3 h/jour » are not taken for units).
const unitPattern = new RegExp(`${NUMBER}[ \\u00a0\\u202f]+((?:${alternatives})(?:/(?:s|min|h))?)(?![\\p{L}\\p{N}_'’/])`, 'gu');
// « 50 % » and « 50% »: a narrow no-break space before the sign, even when none was typed; a
// percent-encoding (« %20 ») is not a percent sign.
const percentPattern = new RegExp(`${NUMBER}[ \\u00a0\\u202f]*%(?![0-9A-Fa-f])`, 'gu');

// Digit groups: 1 to 3 digits, then groups of exactly 3 separated by one space (« 100 000 »,
// « 1 000 000 »); « 1000 1001 » or « 12 34 » are not one number.
const groupedPattern = /(?<![\p{L}\p{N}_.,])\p{N}{1,3}(?:[ \u00a0\u202f]\p{N}{3})+(?![\p{N}])/gu;

/** Applies the rules to one run of prose text. */
export function frenchTypography(text: string): string {
  return text
    .replace(/[ \u00a0\u202f]+:(?=\s|$)/g, `${NBSP}:`)
    .replace(/[ \u00a0\u202f]+([;!?])/g, `${NNBSP}$1`)
    .replace(/«[ \u00a0\u202f]*/g, `«${NBSP}`)
    .replace(/[ \u00a0\u202f]*»/g, `${NBSP}»`)
    .replace(groupedPattern, (number) => number.replace(/[ \u00a0]/g, NNBSP))
    .replace(unitPattern, `$1${NBSP}$2`)
    .replace(percentPattern, `$1${NNBSP}%`);
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
