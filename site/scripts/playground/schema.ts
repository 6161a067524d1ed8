// The one source of truth for what an author writes in <Playground>: zod schemas for the props,
// checks and matchers. The TypeScript types are inferred from them, the build validates every
// playground with them (French messages naming the lesson), and the documentation tables (page
// « Écrire une leçon », README.md) are generated from their `.describe()` texts.
// Pure: no Astro runtime, no DOM; only types reach the browser bundle (import type).
import { z } from 'astro/zod';
import { NETWORK_DROPS, NETWORK_LIMITS, VIOLATION_IDS } from '#protocol';
import type { Direction, MonitorEvent } from '#protocol';

/** Every monitor event type (must equal MonitorEvent['type']: asserted below). */
export const EVENT_TYPES = [
  'http',
  'http-body',
  'frame',
  'message',
  'eio',
  'conn-open',
  'conn-close',
  'violation',
  'limit',
  'rooms',
  'info',
  'hello',
  'dropped',
  'net-drop',
  'draining',
  'end',
] as const;

/** Directions (must equal Direction from the protocol). */
export const DIRECTIONS = ['client', 'server'] as const;

/** Engine.IO packet names as the monitor reports them (EioEvent.packet). */
export const EIO_PACKETS = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'] as const;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
/** Compile-time: the matcher's `type` enum lists every event type of the protocol… */
export type EventTypesCoverProtocol = Assert<[MonitorEvent['type']] extends [(typeof EVENT_TYPES)[number]] ? true : false>;
/** …and nothing else. */
export type EventTypesWithinProtocol = Assert<[(typeof EVENT_TYPES)[number]] extends [MonitorEvent['type']] ? true : false>;
/** Compile-time: `from` allows exactly the protocol's directions. */
export type DirectionsMatchProtocol = Assert<Same<(typeof DIRECTIONS)[number], Direction>>;

const ID_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
const ID_RULE = 'des minuscules, chiffres et tirets, sans tiret au début';
/** Labels of the clients a playground can run (clients 1–6). */
const CLIENT_LABELS = ['A', 'B', 'C', 'D', 'E', 'F'] as const;
const MAX_CLIENTS = CLIENT_LABELS.length;

const q = (s: unknown) => `«\u00a0${String(s)}\u00a0»`;

function badId(input: unknown): string {
  return `identifiant ${q(input)} invalide\u202f; attendu ${ID_RULE}`;
}

/** A regular expression source: must compile (a bad one fails the build, not the learner's run). */
const regexSource = z.string().superRefine((source, ctx) => {
  try {
    new RegExp(source);
  } catch {
    ctx.addIssue({ code: 'custom', message: `expression régulière ${q(source)} invalide` });
  }
});

/** At least one field of an object of optional constraints must be given. */
function notEmpty(fields: string) {
  return (value: object, ctx: z.RefinementCtx) => {
    if (Object.keys(value).length === 0)
      ctx.addIssue({ code: 'custom', message: `objet vide\u202f; attendu au moins l’un de\u00a0: ${fields}` });
  };
}

const numberMatchObject = z
  .strictObject({
    gt: z.number().optional().describe('La valeur doit être strictement supérieure à ce nombre.'),
    gte: z.number().optional().describe('La valeur doit être supérieure ou égale à ce nombre.'),
    lt: z.number().optional().describe('La valeur doit être strictement inférieure à ce nombre.'),
    lte: z.number().optional().describe('La valeur doit être inférieure ou égale à ce nombre.'),
  })
  .superRefine(notEmpty('gt, gte, lt, lte'));

export const numberMatchSchema = z
  .union([z.number(), numberMatchObject])
  .describe('Contrainte sur un nombre : un nombre (égalité exacte) ou des bornes `{ gt, gte, lt, lte }`, toutes respectées.');

const textMatchObject = z
  .strictObject({
    includes: z.string().optional().describe('Le texte doit contenir cette chaîne.'),
    regex: regexSource
      .optional()
      .describe(
        'Le texte doit correspondre à cette expression régulière JavaScript : la source seule, sans barres obliques ni drapeaux, par exemple `^HTTP/1\\.1 101`. Une expression invalide fait échouer la construction.',
      ),
  })
  .superRefine(notEmpty('includes, regex'));

export const textMatchSchema = z
  .union([z.string(), textMatchObject])
  .describe(
    'Contrainte sur un texte : une chaîne (égalité exacte), ou un objet `{ includes, regex }` dont tous les champs donnés sont respectés.',
  );

export const sioMatchSchema = z
  .strictObject({
    type: z
      .int()
      .min(0)
      .max(6)
      .optional()
      .describe('Type de paquet Socket.IO : 0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK.'),
    event: z.string().min(1).optional().describe('Nom de l’évènement émis (paquets EVENT et BINARY_EVENT), par exemple `chat`.'),
    nsp: z
      .string()
      .startsWith('/', {
        error: (iss) =>
          `espace de noms ${q(iss.input)} invalide\u202f; il commence toujours par «\u00a0/\u00a0», par exemple «\u00a0/comments\u00a0»`,
      })
      .optional()
      .describe("Espace de noms du paquet, commençant par « / » : `/` pour `io()`, `/comments` pour `io('/comments')`."),
  })
  .describe('Paquet Socket.IO décodé d’un évènement `eio` : les champs donnés doivent tous correspondre.');

/** What one event must hold: every field given (the fields of a matcher that look at one event alone). */
const eventShape = {
  type: z.enum(EVENT_TYPES).optional().describe('Type de l’évènement, tel que le décrit `protocol/protocol.ts`.'),
  from: z
    .enum(DIRECTIONS)
    .optional()
    .describe('Sens des octets : `client` (du client vers le serveur) ou `server` (du serveur vers le client).'),
  client: z
    .enum(CLIENT_LABELS)
    .optional()
    .describe(
      'Étiquette du client de l’évènement (`A`, `B`…) : celle du paramètre `client` de la requête HTTP, de la session Engine.IO (évènements `eio`) ou à défaut de la connexion (les navigateurs partagent leurs connexions keep-alive entre clients, d’où la règle par requête). Les clients externes n’en ont pas. Doit désigner un des `clients` du bac à sable.',
    ),
  opcode: z
    .int()
    .min(0)
    .max(15)
    .optional()
    .describe(
      'Opcode de la trame ou du message : 0 continuation, 1 texte, 2 binaire, 8 fermeture, 9 ping, 10 pong ; 3 à 7 et 11 à 15 sont réservés (trames qui violent le protocole).',
    ),
  fin: z.boolean().optional().describe('Bit FIN de l’en-tête de trame : vrai sur la dernière trame d’un message.'),
  rsv1: z
    .boolean()
    .optional()
    .describe('Bit RSV1 de l’en-tête de trame : vrai sur la première trame d’un message compressé (permessage-deflate).'),
  masked: z
    .boolean()
    .optional()
    .describe('Bit MASK de l’en-tête de trame : vrai quand la charge utile est masquée (obligatoire du client vers le serveur).'),
  length: numberMatchSchema
    .optional()
    .describe(
      'Champ `length` de l’évènement : longueur de la charge utile d’une trame, d’un message réassemblé ou d’un morceau `http-body`, en octets.',
    ),
  lengthForm: z
    .literal([7, 16, 64])
    .optional()
    .describe('Forme de la longueur dans l’en-tête de trame : 7 bits (0 à 125 octets), 16 bits (126 à 65 535) ou 64 bits (au-delà).'),
  code: z
    .int()
    .min(0)
    .max(65535)
    .optional()
    .describe(
      'Code de fermeture d’une trame de fermeture (1000, 4001…), ou code prescrit par la RFC pour une violation (1002, 1007, 1009…).',
    ),
  reason: textMatchSchema.optional().describe('Raison d’une trame de fermeture, ou raison de la fin d’une connexion TCP (`conn-close`).'),
  text: textMatchSchema
    .optional()
    .describe(
      'Texte porté par l’évènement : `text` des trames, messages et morceaux `http-body`, `body` des évènements `http`, `data` des `eio`, `message` des `info`, `violation` et `limit`.',
    ),
  packet: z.enum(EIO_PACKETS).optional().describe('Type de paquet Engine.IO d’un évènement `eio`.'),
  violation: z
    .enum(VIOLATION_IDS)
    .optional()
    .describe(
      'Identifiant stable d’une violation (évènement `violation`), par exemple `WS_ERR_UNMASKED_CLIENT_FRAME` ; la liste est dans protocol/README.md.',
    ),
  sio: sioMatchSchema.optional().describe('Paquet Socket.IO porté par un évènement `eio` : `{ type, event, nsp }`, voir `SioMatch`.'),
  head: textMatchSchema
    .optional()
    .describe('Tête d’un évènement `http` : ligne de départ et en-têtes, séparés par CRLF, sans la ligne vide finale.'),
  payload: textMatchSchema
    .optional()
    .describe(
      'Charge utile d’une trame (évènement `frame`), démasquée, en hexadécimal minuscule, deux chiffres par octet, au plus les 4 096 premiers octets : pour juger des octets que le texte ne montre pas, par exemple une trame qui s’arrête au milieu d’un caractère UTF-8. Une expression régulière qui compte en octets s’ancre sur des paires : `^(?:[0-9a-f]{2})*?…$`.',
    ),
};

/** The event `gap` is measured from: a matcher on one event alone (no gap, since or count). */
export const sinceSchema = z
  .strictObject(eventShape)
  .describe('Motif d’un seul évènement, sans `gap`, `since` ni `count` : le point de départ d’une mesure `gap`.');

const matcherShape = {
  ...eventShape,
  gap: numberMatchSchema
    .optional()
    .describe(
      'Temps écoulé, en millisecondes (horloge du bac à sable, champ `t`), entre l’évènement et le plus récent évènement antérieur qui correspond à `since`, ou, sans `since`, aux autres champs de ce motif. Un évènement sans tel prédécesseur ne correspond pas. Pour juger un rythme sur le trafic : reconnexions de plus en plus espacées, battements réguliers, réponse avant un délai.',
    ),
  since: sinceSchema
    .optional()
    .describe(
      "Motif de l’évènement d’où part la mesure `gap` (le plus récent avant l’évènement jugé), par exemple `{ type: 'conn-close', client: 'A' }` pour le délai entre une coupure et la reconnexion suivante. Demande `gap`.",
    ),
  unless: sinceSchema
    .optional()
    .describe(
      "Motif d’un évènement qui efface le point de départ de la mesure `gap` : l’évènement jugé ne correspond que si aucun évènement de ce motif n’est venu entre son point de départ et lui (lui compris). Par exemple, dans `none`, une poignée de main de A qui suit la précédente (`since`) sans coupure entre les deux (`unless: { type: 'net-drop', client: 'A' }`), ou un message de données arrivé après l’ouverture sans message d’authentification avant lui. Demande `gap`.",
    ),
  count: z
    .int()
    .min(1)
    .optional()
    .describe('Nombre minimal d’évènements qui doivent correspondre au motif (1 par défaut). Sans effet, donc interdit, dans `none`.'),
};

export const matcherSchema = z
  .strictObject(matcherShape)
  .superRefine((m, ctx) => {
    if (m.since !== undefined && m.gap === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['since'],
        message: `demande ${q('gap')}\u00a0: ${q('since')} ne fait que dire d’où part la mesure`,
      });
    if (m.unless !== undefined && m.gap === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['unless'],
        message: `demande ${q('gap')}\u00a0: ${q('unless')} ne fait qu’effacer le point de départ de la mesure`,
      });
  })
  .describe('Motif d’évènements : un évènement correspond quand tous les champs donnés sont vérifiés (aucun champ : tout évènement).');

const matchers = () => z.union([matcherSchema, z.array(matcherSchema).min(1)]);
/** One server console line, or a list of them. */
const logLines = () => z.union([textMatchSchema, z.array(textMatchSchema).min(1)]);

export const checkSchema = z
  .strictObject({
    id: z
      .string()
      .regex(ID_PATTERN, { error: (iss) => badId(iss.input) })
      .describe(
        'Identifiant de l’exercice, unique dans le bac à sable : minuscules, chiffres et tirets. Clé de l’exercice réussi (localStorage).',
      ),
    label: z.string().min(1).describe('Consigne affichée à l’apprenant, en français, précédée de ✗ puis de ✓ une fois l’exercice réussi.'),
    expect: matchers().describe(
      'Motif, ou liste de motifs, attendus : l’exercice est réussi quand chacun correspond à au moins `count` évènements de l’exécution.',
    ),
    none: matchers()
      .optional()
      .describe('Motif, ou liste de motifs, interdits : un seul évènement qui correspond à l’un d’eux fait échouer l’exercice.'),
    serverLog: logLines()
      .optional()
      .describe(
        'Ligne, ou liste de lignes, que la console du serveur doit afficher pendant l’exécution (texte exact, `{ includes }` ou `{ regex }`) : pour demander un comportement du serveur. Demande `server`.',
      ),
    serverLogNone: logLines()
      .optional()
      .describe(
        "Ligne, ou liste de lignes, que la console du serveur ne doit pas afficher pendant l’exécution (texte exact, `{ includes }` ou `{ regex }`) : une seule fait échouer l’exercice. Par exemple la note du bac à sable sur un évènement `'error'` resté sans écouteur. Demande `server`.",
      ),
  })
  .superRefine((check, ctx) => {
    const nones = check.none === undefined ? [] : Array.isArray(check.none) ? check.none : [check.none];
    nones.forEach((m, i) => {
      if (m.count === undefined) return;
      ctx.addIssue({
        code: 'custom',
        path: Array.isArray(check.none) ? ['none', i, 'count'] : ['none', 'count'],
        message: `${q('count')} est sans effet dans ${q('none')}\u00a0: un seul évènement suffit à faire échouer l’exercice`,
      });
    });
  })
  .describe('Exercice vérifié sur le trafic de chaque exécution.');

const { latencyMs, bandwidth, dropAfterMs, dropJitterMs } = NETWORK_LIMITS;

export const networkSchema = z
  .strictObject({
    latencyMs: z
      .int()
      .min(latencyMs.min)
      .max(latencyMs.max)
      .optional()
      .describe(
        'Latence ajoutée dans chaque sens, en millisecondes : un aller-retour (requête puis réponse, message puis écho, poignée de main) prend donc deux latences de plus.',
      ),
    bandwidth: z
      .int()
      .min(bandwidth.min)
      .max(bandwidth.max)
      .optional()
      .describe(
        'Débit maximal en octets par seconde, par connexion et par sens, par exemple `16384` pour 16 Kio/s. Au-delà de 64 Kio en attente, le bac à sable cesse de lire l’émetteur : la contre-pression remonte jusqu’à lui.',
      ),
    dropAfterMs: z
      .int()
      .min(dropAfterMs.min)
      .max(dropAfterMs.max)
      .optional()
      .describe('Chaque connexion de la session est coupée ce nombre de millisecondes après son ouverture (évènement `net-drop`).'),
    dropJitterMs: z
      .int()
      .min(dropJitterMs.min)
      .max(dropJitterMs.max)
      .optional()
      .describe(
        'Jusqu’à ce nombre de millisecondes de plus, tiré au hasard pour chaque connexion à son ouverture : chacune est coupée entre `dropAfterMs` et `dropAfterMs + dropJitterMs` après son ouverture, à un moment que personne ne connaît d’avance (un battement de cœur le découvre, une minuterie fixe non). Demande `dropAfterMs`.',
      ),
    drop: z
      .enum(NETWORK_DROPS as ['reset', 'silent'])
      .optional()
      .describe(
        "Nature de la coupure : `'reset'` (par défaut) réinitialise la connexion TCP, le client voit une fermeture anormale (1006, ou « transport close » avec Socket.IO) ; `'silent'` ne laisse plus passer aucun octet, dans aucun sens, sans fermer la connexion (un pair mort : seul un battement de cœur le détecte ; fermée pour de bon 60 s plus tard). Demande `dropAfterMs`.",
      ),
  })
  // Not when a field was refused (an unknown field is not an empty object).
  .superRefine(notEmpty('latencyMs, bandwidth, dropAfterMs, dropJitterMs, drop'), { when: (payload) => payload.issues.length === 0 })
  .superRefine((value, ctx) => {
    for (const field of ['drop', 'dropJitterMs'] as const) {
      if (value[field] !== undefined && value.dropAfterMs === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `demande ${q('dropAfterMs')}\u00a0: le moment de la coupure` });
    }
  })
  .describe(
    'Conditions réseau que le bac à sable applique aux vrais sockets de toutes les connexions de la session (scénarios intégrés, Socket.IO, SSE, serveur de la leçon, clients externes), dans les deux sens ; le terminal les rappelle au début de chaque exécution.',
  );

export const playgroundPropsSchema = z
  .strictObject({
    id: z
      .string()
      .regex(ID_PATTERN, { error: (iss) => badId(iss.input) })
      .describe(
        'Identifiant du bac à sable, unique dans la leçon : minuscules, chiffres et tirets. Clé du code sauvegardé (localStorage), des liens de partage et des exercices réussis.',
      ),
    title: z
      .string()
      .min(1)
      .describe(
        'Titre affiché au-dessus de l’éditeur, en français ; nomme aussi la barre d’outils, l’éditeur et la région pour les technologies d’assistance.',
      ),
    code: z
      .string()
      .describe(
        'Code JavaScript de départ, modifiable par l’apprenant ; « Réinitialiser » le restaure. Il doit produire les évènements de `expect` et ne réussir aucun exercice.',
      ),
    solution: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Code chargé par le bouton « Solution », affiché seulement si elle est donnée. Obligatoire dès que `checks` contient un exercice, sauf si `serverSolution` est donnée : la solution doit tous les réussir.',
      ),
    clients: z
      .int()
      .min(1)
      .max(MAX_CLIENTS)
      .default(1)
      .describe(
        'Nombre de clients (A, B, C…) qui exécutent le code en même temps, chacun dans son propre Worker ; `sandbox.client` et `sandbox.index` les distinguent.',
      ),
    perClientCode: z
      .array(z.string().nullable())
      .optional()
      .describe(
        'Code fixe de certains clients, dans l’ordre A, B, C… (`null` : ce client exécute le code de l’éditeur), affiché en lecture seule sous l’éditeur. Au plus une entrée par client.',
      ),
    server: z
      .string()
      .optional()
      .describe(
        'Code du serveur de la leçon (onglet « serveur.js »), écrit pour Node avec `ws` ou `http` : il s’exécute dans le navigateur, et le bac à sable tient les vrais sockets (voir le README du bac à sable). Sans lui, les scénarios intégrés répondent.',
      ),
    serverSolution: z
      .string()
      .min(1)
      .optional()
      .describe('Solution du code serveur, chargée par « Solution » avec celle du client ; demande `server`.'),
    serverEditable: z
      .boolean()
      .optional()
      .describe('L’apprenant peut modifier le code serveur (sinon, lecture seule ; par défaut `false`) ; demande `server`.'),
    network: networkSchema
      .optional()
      .describe(
        'Conditions réseau de la session : `{ latencyMs, bandwidth, dropAfterMs, dropJitterMs, drop }` (voir `NetworkConditions`), par exemple `{ bandwidth: 16384 }` pour un réseau lent.',
      ),
    checks: z
      .array(checkSchema)
      .default([])
      .describe(
        'Exercices, affichés avec ✗ ou ✓ : le code de départ ne doit en réussir aucun, la solution tous (`tests/e2e/lessons.spec.ts` le vérifie).',
      ),
    expect: z
      .array(matcherSchema)
      .default([])
      .describe('Motifs que le code de départ doit produire quand on l’exécute (`tests/e2e/lessons.spec.ts` le vérifie).'),
  })
  .superRefine(crossCheck, { when: (payload) => typeof payload.value === 'object' && payload.value !== null })
  .describe('Props du composant `<Playground>`.');

/** Rules across fields. Runs even when fields are invalid (`when`), so it reads the input defensively. */
function crossCheck(props: object, ctx: z.RefinementCtx): void {
  const p = props as Record<string, unknown>;
  const checks = Array.isArray(p.checks) ? (p.checks as unknown[]) : [];
  const clients = p.clients ?? 1;

  if (checks.length > 0 && p.solution === undefined && p.serverSolution === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['solution'],
      message: `obligatoire quand ${q('checks')} contient des exercices (ou ${q('serverSolution')})\u00a0: la solution doit tous les réussir`,
    });
  }

  for (const field of ['serverSolution', 'serverEditable'] as const) {
    if (p[field] !== undefined && p.server === undefined) {
      ctx.addIssue({ code: 'custom', path: [field], message: `demande ${q('server')}\u00a0: ce bac à sable n’a pas de code serveur` });
    }
  }
  checks.forEach((c, i) => {
    for (const field of ['serverLog', 'serverLogNone'] as const) {
      if ((c as Record<string, unknown> | null)?.[field] !== undefined && p.server === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['checks', i, field],
          message: `demande ${q('server')}\u00a0: ce bac à sable n’a pas de console du serveur`,
        });
      }
    }
  });

  const seen = new Map<string, number>();
  checks.forEach((c, i) => {
    const id = (c as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, i);
    else ctx.addIssue({ code: 'custom', path: ['checks', i, 'id'], message: `identifiant ${q(id)} déjà utilisé par checks[${first}]` });
  });

  // The rules below need a valid client count.
  if (typeof clients !== 'number' || !Number.isInteger(clients) || clients < 1 || clients > MAX_CLIENTS) return;

  if (Array.isArray(p.perClientCode) && p.perClientCode.length > clients) {
    ctx.addIssue({
      code: 'custom',
      path: ['perClientCode'],
      message: `${p.perClientCode.length} entrées pour ${clients} client${clients > 1 ? 's' : ''}\u202f; au plus une entrée par client`,
    });
  }

  // A matcher on a client label the playground does not run can never match.
  const labels: readonly string[] = CLIENT_LABELS.slice(0, clients);
  const visit = (m: unknown, path: (string | number)[]) => {
    const client = (m as { client?: unknown } | null)?.client;
    if (typeof client === 'string' && (CLIENT_LABELS as readonly string[]).includes(client) && !labels.includes(client)) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'client'],
        message: `client ${q(client)} absent\u00a0: ce bac à sable n’exécute que ${labels.join(', ')} (clients = ${clients})`,
      });
    }
    const since = (m as { since?: unknown } | null)?.since;
    if (since !== undefined) visit(since, [...path, 'since']);
    const unless = (m as { unless?: unknown } | null)?.unless;
    if (unless !== undefined) visit(unless, [...path, 'unless']);
  };
  const visitAll = (v: unknown, path: (string | number)[]) => {
    if (!Array.isArray(v)) return visit(v, path);
    v.forEach((m, i) => {
      visit(m, [...path, i]);
    });
  };
  visitAll(p.expect, ['expect']);
  checks.forEach((c, i) => {
    const check = (c ?? {}) as { expect?: unknown; none?: unknown };
    visitAll(check.expect, ['checks', i, 'expect']);
    visitAll(check.none, ['checks', i, 'none']);
  });
}

export type NumberMatch = z.infer<typeof numberMatchSchema>;
export type TextMatch = z.infer<typeof textMatchSchema>;
export type SioMatch = z.infer<typeof sioMatchSchema>;
/** Network conditions of a playground's session (the same shape as the protocol's NetworkConditions). */
export type PlaygroundNetwork = z.infer<typeof networkSchema>;
/** Describes events; every field given must hold. */
export type Matcher = z.infer<typeof matcherSchema>;
/** An exercise: passes when every `expect` matcher matches ≥ count events and no event matches a `none` matcher. */
export type Check = z.infer<typeof checkSchema>;
/** What an author may write in <Playground> (defaults not applied). */
export type PlaygroundInput = z.input<typeof playgroundPropsSchema>;
/** Validated props with defaults applied, serialized as JSON into the element's data-props attribute. */
export type PlaygroundProps = z.output<typeof playgroundPropsSchema>;

// ---------------------------------------------------------------------------------------------
// French messages

/** Edit distance with adjacent transpositions (optimal string alignment). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The allowed word closest to a mistyped one, if close enough to be a typo. */
export function closest(word: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= (word.length <= 4 ? 1 : 2) ? best : undefined;
}

const suggestion = (word: string, allowed: readonly string[]) => {
  const near = closest(word, allowed);
  return near === undefined ? '' : ` (vouliez-vous dire ${q(near)}\u202f?)`;
};

/** A value as the author wrote it, for messages. */
function shown(value: unknown): string {
  if (typeof value === 'string') return q(value.length > 60 ? `${value.slice(0, 59)}…` : value);
  if (Array.isArray(value)) return 'un tableau';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'un objet';
  if (typeof value === 'function') return 'une fonction';
  return String(value);
}

/** The value with its kind (“la chaîne « x »”), after « reçu ». */
function received(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `la chaîne ${shown(value)}`;
    case 'number':
      return `le nombre ${value}`;
    case 'boolean':
      return `le booléen ${value}`;
    default:
      return shown(value);
  }
}

const EXPECTED: Record<string, string> = {
  string: 'une chaîne',
  number: 'un nombre',
  int: 'un entier',
  boolean: 'un booléen (true ou false)',
  object: 'un objet',
  array: 'un tableau',
  null: 'null',
};

/** “un objet { gt, gte, lt, lte }”, “une chaîne”… for one option of a union. */
function kindOf(schema: z.core.$ZodType): string {
  if (schema instanceof z.ZodNullable) return `${kindOf(schema.unwrap())} ou null`;
  if (schema instanceof z.ZodObject) {
    const keys = Object.keys(schema.shape);
    return keys.length <= 4 ? `un objet { ${keys.join(', ')} }` : 'un objet';
  }
  if (schema instanceof z.ZodNumber) return isInteger(schema) ? 'un entier' : 'un nombre';
  return EXPECTED[(schema as z.ZodType).type] ?? (schema as z.ZodType).type;
}

/** z.int() and the like (ZodNumber's isInt is deprecated). */
const isInteger = (schema: z.ZodNumber) => schema.format?.includes('int') === true;

function range(schema: unknown): string | undefined {
  if (!(schema instanceof z.ZodNumber) || schema.minValue === null || schema.maxValue === null) return undefined;
  if (!Number.isFinite(schema.minValue) || !Number.isFinite(schema.maxValue) || Math.abs(schema.maxValue) > 1e15) return undefined;
  return `${isInteger(schema) ? 'un entier' : 'un nombre'} de ${schema.minValue} à ${schema.maxValue}`;
}

/** The local message of one issue (the path is added by formatIssues). Zod calls it for every issue. */
function frenchMessage(iss: z.core.$ZodRawIssue): string {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'champ obligatoire manquant';
      return `type invalide\u00a0: attendu ${EXPECTED[iss.expected] ?? iss.expected}, reçu ${received(iss.input)}`;
    case 'invalid_union': {
      const options = iss.inst instanceof z.ZodUnion ? (iss.inst.options as z.core.$ZodType[]) : [];
      return `type invalide\u00a0: attendu ${options.map(kindOf).join(' ou ')}, reçu ${received(iss.input)}`;
    }
    case 'invalid_value': {
      const values = iss.values.map(String);
      if (values.length === 1) return `valeur ${shown(iss.input)} invalide\u202f; attendu ${values[0]}`;
      const near = typeof iss.input === 'string' ? suggestion(iss.input, values) : '';
      return `valeur ${shown(iss.input)} inconnue\u202f; attendu l’une de\u00a0: ${values.join(', ')}${near}`;
    }
    case 'unrecognized_keys': {
      const allowed = iss.inst instanceof z.ZodObject ? Object.keys(iss.inst.shape) : [];
      return iss.keys.map((key) => `champ inconnu ${q(key)}${suggestion(key, allowed)}`).join('\u202f; ');
    }
    case 'too_small':
    case 'too_big': {
      if (iss.origin === 'string') return 'chaîne vide\u202f; attendu au moins un caractère';
      if (iss.origin === 'array') return 'tableau vide\u202f; attendu au moins un élément';
      const bounds = range(iss.schema);
      if (bounds) return `valeur ${shown(iss.input)} hors limites\u202f; attendu ${bounds}`;
      const limit = iss.code === 'too_small' ? iss.minimum : iss.maximum;
      const word = iss.code === 'too_small' ? (iss.inclusive ? 'au moins' : 'plus de') : iss.inclusive ? 'au plus' : 'moins de';
      return `valeur ${shown(iss.input)} ${iss.code === 'too_small' ? 'trop petite' : 'trop grande'}\u202f; attendu ${word} ${limit}`;
    }
    default:
      return `valeur ${shown(iss.input)} invalide`;
  }
}

/** Issues of a union, resolved to the branch the author meant (the one whose shape the value has). */
function flatten(issues: readonly z.core.$ZodIssue[], base: PropertyKey[] = []): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path];
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [{ ...issue, path }];
    // A branch whose root type differs from the value's is not what the author meant.
    const meant = issue.errors.filter((branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0));
    return meant.length > 0 ? flatten(meant[0], path) : [{ ...issue, path }];
  });
}

/** checks[0].expect.type */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i > 0 ? '.' : ''}${String(key)}`)).join('');
}

/** One line per issue, each prefixed with its path (none for the root object). */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return flatten(issues).map((issue) => (issue.path.length ? `${formatPath(issue.path)}\u00a0: ${issue.message}` : issue.message));
}

/**
 * Validates the props of one <Playground> and applies the defaults. Throws an Error whose French
 * message names the lesson file, the playground and every issue with its path.
 */
export function parsePlaygroundProps(props: unknown, where: { lesson: string }): PlaygroundProps {
  const result = playgroundPropsSchema.safeParse(props, { error: frenchMessage });
  if (result.success) return result.data;
  const id = (props as { id?: unknown } | null)?.id;
  const name = typeof id === 'string' && id ? `Playground ${q(id)}` : `Playground sans ${q('id')}`;
  const lines = formatIssues(result.error.issues);
  const message =
    lines.length === 1
      ? `${name} de ${where.lesson}\u00a0: ${lines[0]}`
      : `${name} de ${where.lesson}, ${lines.length} erreurs\u00a0:\n${lines.map((l) => `  - ${l}`).join('\n')}`;
  throw new Error(message);
}

// ---------------------------------------------------------------------------------------------
// Documentation tables (page « Écrire une leçon », README.md)

/** One row of a generated table. Texts may hold `code` spans (backticks); no French spacing applied yet. */
export interface FieldDoc {
  name: string;
  type: string;
  required: string;
  description: string;
}

const NAMED = new Map<unknown, string>([
  [matcherSchema, 'Matcher'],
  [checkSchema, 'Check'],
  [numberMatchSchema, 'NumberMatch'],
  [textMatchSchema, 'TextMatch'],
  [sioMatchSchema, 'SioMatch'],
  [sinceSchema, 'Matcher'],
  [networkSchema, 'NetworkConditions'],
]);

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  return schema instanceof z.ZodOptional || schema instanceof z.ZodDefault ? unwrap(schema.unwrap() as z.core.$ZodType) : schema;
}

/** A TypeScript-like type of a field, e.g. `Matcher | Matcher[]`, `number`. */
function typeOf(schema: z.core.$ZodType): string {
  const s = unwrap(schema);
  const named = NAMED.get(s);
  if (named) return named;
  if (s instanceof z.ZodEnum) return s.options.map((o) => `'${String(o)}'`).join(' | ');
  if (s instanceof z.ZodLiteral) return [...s.values].map((v) => JSON.stringify(v)).join(' | ');
  if (s instanceof z.ZodNullable) return `${typeOf(s.unwrap() as z.core.$ZodType)} | null`;
  if (s instanceof z.ZodArray) {
    const element = typeOf(s.element as z.core.$ZodType);
    return element.includes(' ') ? `(${element})[]` : `${element}[]`;
  }
  if (s instanceof z.ZodUnion) return (s.options as z.core.$ZodType[]).map(typeOf).join(' | ');
  return (s as z.ZodType).type;
}

/** Constraints worth stating next to the type: integer bounds, format. */
function constraintOf(schema: z.core.$ZodType): string {
  const s = unwrap(schema);
  if (s instanceof z.ZodNumber && isInteger(s)) {
    const min = s.minValue !== null && Math.abs(s.minValue) < 1e15 ? s.minValue : undefined;
    const max = s.maxValue !== null && Math.abs(s.maxValue) < 1e15 ? s.maxValue : undefined;
    if (min !== undefined && max !== undefined) return `entier de ${min} à ${max}`;
    if (min !== undefined) return `entier ≥ ${min}`;
    return 'entier';
  }
  return '';
}

/** The rows documenting each field of an object schema, from its `.describe()` texts. */
export function fieldDocs(object: { shape: Record<string, z.core.$ZodType> }): FieldDoc[] {
  return Object.entries(object.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const constraint = constraintOf(field);
    const fallback = field instanceof z.ZodDefault ? JSON.stringify(field.def.defaultValue) : undefined;
    return {
      name,
      type: `\`${typeOf(field)}\`${constraint ? `, ${constraint}` : ''}`,
      required: fallback !== undefined ? `non (défaut \`${fallback}\`)` : field instanceof z.ZodOptional ? 'non' : 'oui',
      description: field.description ?? '',
    };
  });
}

/** The object schemas documented as tables, by name (the README markers use these names). */
export const DOCUMENTED = {
  props: playgroundPropsSchema,
  check: checkSchema,
  matcher: matcherSchema,
  sio: sioMatchSchema,
  'number-match': numberMatchObject,
  'text-match': textMatchObject,
  network: networkSchema,
} as const;

/** The sentence introducing each table: the description of the type itself. */
export const INTROS: Record<keyof typeof DOCUMENTED, string> = {
  props: playgroundPropsSchema.description ?? '',
  check: checkSchema.description ?? '',
  matcher: matcherSchema.description ?? '',
  sio: sioMatchSchema.description ?? '',
  'number-match': numberMatchSchema.description ?? '',
  'text-match': textMatchSchema.description ?? '',
  network: networkSchema.description ?? '',
};
