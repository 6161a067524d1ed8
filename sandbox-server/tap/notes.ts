// The learner's wording of the wire decoders' notes: the decoders (wire/) name a note by its id
// and hold no French; the tap, which sends their events to the session, says it in French.
import type { WireNote } from '../wire/common.ts';
import { INFLATE_INPUT_LIMIT, INFLATE_OUTPUT_LIMIT } from '../wire/inflate.ts';

const mib = (bytes: number) => `${bytes / (1 << 20)}\u00a0Mio`;

const NOTE_TEXT: Record<WireNote, string> = {
  INFLATE_INPUT_LIMIT:
    `Message compressé (permessage-deflate) de plus de ${mib(INFLATE_INPUT_LIMIT)}\u00a0: le moniteur ne le décompresse pas, ` +
    'sa longueur est celle des données compressées.',
  INFLATE_OUTPUT_LIMIT:
    `Message compressé (permessage-deflate) qui dépasse ${mib(INFLATE_OUTPUT_LIMIT)} une fois décompressé\u00a0: ` +
    'le moniteur cesse de le décompresser, sa longueur est celle des données compressées.',
  INFLATE_HISTORY_LOST:
    'Message compressé (permessage-deflate) non décompressé\u00a0: un message précédent ne l’a pas été, ' +
    'et l’expéditeur se sert du contexte des messages précédents (pas de «\u00a0no_context_takeover\u00a0»).',
};

/** French text of a decoder's note, for an `info` event. */
export function noteText(note: WireNote): string {
  return NOTE_TEXT[note];
}
