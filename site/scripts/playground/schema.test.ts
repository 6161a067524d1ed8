// The build-time messages of <Playground>: the parser is called directly (no site build), and each
// message is asserted exactly. Expected texts are written with plain spaces and go through the
// course's French typography, so the messages must follow it too.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { mdxToMdast } from 'satteri';
import { describe, expect, it } from 'vitest';
import { frenchTypography } from '../../typography.ts';
import { DOCUMENTED, INTROS, closest, fieldDocs, parsePlaygroundProps, playgroundPropsSchema } from './schema.ts';

const LESSON = 'lessons/protocole/anatomie-d-une-trame.mdx';
const valid = { id: 'trame-binaire', title: 'Envoyer une trame binaire', code: 'ws.send(1)', solution: 'ws.send(2)' };
const check = (expectation: unknown, more: object = {}) => ({
  id: 'long',
  label: 'Envoyer une trame longue',
  expect: expectation,
  ...more,
});

/** The message thrown for these props. */
function messageOf(props: unknown): string {
  try {
    parsePlaygroundProps(props, { lesson: LESSON });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('les props ont été acceptées');
}

/** The message expected for one issue of the playground « trame-binaire ». */
const one = (issue: string) => frenchTypography(`Playground « trame-binaire » de ${LESSON} : ${issue}`);

describe('parsePlaygroundProps', () => {
  it('accepts valid props and applies the defaults', () => {
    expect(parsePlaygroundProps(valid, { lesson: LESSON })).toEqual({ ...valid, clients: 1, checks: [], expect: [] });
    const full = {
      ...valid,
      clients: 2,
      perClientCode: [null, 'ws.close()'],
      expect: [{ type: 'frame', from: 'client', opcode: 1, length: { gt: 125 }, lengthForm: 16, client: 'B' }],
      checks: [
        check([{ type: 'eio', packet: 'message', sio: { type: 2, event: 'say', nsp: '/' }, count: 2 }], {
          none: { type: 'http', head: { includes: 'token=', regex: '^GET ' }, reason: 'x', text: { regex: '\\d+' } },
        }),
      ],
    };
    expect(parsePlaygroundProps(full, { lesson: LESSON })).toEqual(full);
  });

  it('unknown matcher field, with the closest known field', () => {
    expect(messageOf({ ...valid, checks: [check({ typ: 'frame', opcode: 2 })] })).toBe(
      one('checks[0].expect : champ inconnu « typ » (vouliez-vous dire « type » ?)'),
    );
    expect(messageOf({ ...valid, expect: [{ zzz: 1 }] })).toBe(one('expect[0] : champ inconnu « zzz »'));
  });

  it('server code: accepted with its options, which need it', () => {
    const withServer = { ...valid, server: 'demarrer()', serverSolution: 'demarrer(true)', serverEditable: true };
    expect(parsePlaygroundProps(withServer, { lesson: LESSON })).toEqual({ ...withServer, clients: 1, checks: [], expect: [] });
    expect(messageOf({ ...valid, checks: [check({ type: 'frame' }, { serverLog: 'connexion' })] })).toBe(
      one('checks[0].serverLog : demande « server » : ce bac à sable n’a pas de console du serveur'),
    );
    expect(messageOf({ ...valid, checks: [check({ type: 'frame' }, { serverLogNone: { includes: 'x' } })] })).toBe(
      one('checks[0].serverLogNone : demande « server » : ce bac à sable n’a pas de console du serveur'),
    );
    expect(messageOf({ ...valid, serverSolution: 'x' })).toBe(
      one('serverSolution : demande « server » : ce bac à sable n’a pas de code serveur'),
    );
    expect(messageOf({ ...valid, server: 'x', serverEditable: 'oui' })).toBe(
      one('serverEditable : type invalide : attendu un booléen (true ou false), reçu la chaîne « oui »'),
    );
  });

  it('bad enum value', () => {
    expect(messageOf({ ...valid, checks: [check({ type: 'fram' })] })).toBe(
      one(
        'checks[0].expect.type : valeur « fram » inconnue ; attendu l’une de : http, http-body, frame, message, eio, conn-open, conn-close, violation, limit, rooms, info, hello, dropped, net-drop, draining, end (vouliez-vous dire « frame » ?)',
      ),
    );
    expect(messageOf({ ...valid, expect: [{ lengthForm: 8 }] })).toBe(
      one('expect[0].lengthForm : valeur 8 inconnue ; attendu l’une de : 7, 16, 64'),
    );
  });

  it('bad regular expression, in every text field', () => {
    for (const key of ['text', 'reason', 'head']) {
      expect(messageOf({ ...valid, checks: [check([{ type: 'frame' }, { [key]: { regex: '(' } }])] }), key).toBe(
        one(`checks[0].expect[1].${key}.regex : expression régulière « ( » invalide`),
      );
    }
  });

  it('duplicate check id', () => {
    const checks = [check({ type: 'frame' }), { ...check({ opcode: 2 }), id: 'autre' }, check({ opcode: 1 })];
    expect(messageOf({ ...valid, checks })).toBe(one('checks[2].id : identifiant « long » déjà utilisé par checks[0]'));
  });

  it('checks without a solution', () => {
    expect(messageOf({ ...valid, solution: undefined, checks: [check({ type: 'frame' })] })).toBe(
      one('solution : obligatoire quand « checks » contient des exercices (ou « serverSolution ») : la solution doit tous les réussir'),
    );
  });

  it('bad id (named as written) and missing id', () => {
    expect(messageOf({ ...valid, id: 'Trame_Binaire' })).toBe(
      frenchTypography(
        `Playground « Trame_Binaire » de ${LESSON} : id : identifiant « Trame_Binaire » invalide ; attendu des minuscules, chiffres et tirets, sans tiret au début`,
      ),
    );
    expect(messageOf({ ...valid, id: undefined })).toBe(
      frenchTypography(`Playground sans « id » de ${LESSON} : id : champ obligatoire manquant`),
    );
  });

  it('clients out of range or not an integer', () => {
    expect(messageOf({ ...valid, clients: 7 })).toBe(one('clients : valeur 7 hors limites ; attendu un entier de 1 à 6'));
    expect(messageOf({ ...valid, clients: 0 })).toBe(one('clients : valeur 0 hors limites ; attendu un entier de 1 à 6'));
    expect(messageOf({ ...valid, clients: 1.5 })).toBe(one('clients : type invalide : attendu un entier, reçu le nombre 1.5'));
  });

  it('wrong type, including in a union (NumberMatch, Matcher | Matcher[])', () => {
    expect(messageOf({ ...valid, checks: [check({ length: 'x' })] })).toBe(
      one('checks[0].expect.length : type invalide : attendu un nombre ou un objet { gt, gte, lt, lte }, reçu la chaîne « x »'),
    );
    expect(messageOf({ ...valid, checks: [check({ length: { gt: '125' } })] })).toBe(
      one('checks[0].expect.length.gt : type invalide : attendu un nombre, reçu la chaîne « 125 »'),
    );
    expect(messageOf({ ...valid, checks: [check(3)] })).toBe(
      one('checks[0].expect : type invalide : attendu un objet ou un tableau, reçu le nombre 3'),
    );
    expect(messageOf({ ...valid, expect: [{ fin: 'true' }] })).toBe(
      one('expect[0].fin : type invalide : attendu un booléen (true ou false), reçu la chaîne « true »'),
    );
  });

  it('unknown prop on the Playground', () => {
    expect(messageOf({ ...valid, tilte: 'Titre' })).toBe(one('champ inconnu « tilte » (vouliez-vous dire « title » ?)'));
  });

  it('unknown field in the nested sio matcher', () => {
    expect(messageOf({ ...valid, expect: [{ type: 'eio', sio: { typ: 2 } }] })).toBe(
      one('expect[0].sio : champ inconnu « typ » (vouliez-vous dire « type » ?)'),
    );
    expect(messageOf({ ...valid, expect: [{ sio: { nsp: 'comments' } }] })).toBe(
      one('expect[0].sio.nsp : espace de noms « comments » invalide ; il commence toujours par « / », par exemple « /comments »'),
    );
  });

  it('error paths inside none, and count forbidden there', () => {
    expect(messageOf({ ...valid, checks: [check({ type: 'frame' }, { none: [{ type: 'violation' }, { opcod: 8 }] })] })).toBe(
      one('checks[0].none[1] : champ inconnu « opcod » (vouliez-vous dire « opcode » ?)'),
    );
    expect(messageOf({ ...valid, checks: [check({ type: 'frame' }, { none: { type: 'frame', count: 2 } })] })).toBe(
      one('checks[0].none.count : « count » est sans effet dans « none » : un seul évènement suffit à faire échouer l’exercice'),
    );
  });

  it('gap and since: since needs gap, holds one event alone, and its client is checked', () => {
    const ok = { ...valid, checks: [check({ type: 'http', gap: { gt: 500 }, since: { type: 'conn-close' } })] };
    expect(parsePlaygroundProps(ok, { lesson: LESSON }).checks[0].expect).toMatchObject({ gap: { gt: 500 } });
    expect(messageOf({ ...valid, checks: [check({ type: 'http', since: { type: 'conn-close' } })] })).toBe(
      one('checks[0].expect.since : demande « gap » : « since » ne fait que dire d’où part la mesure'),
    );
    expect(messageOf({ ...valid, checks: [check({ type: 'http', gap: 1, since: { type: 'conn-close', count: 2 } })] })).toBe(
      one('checks[0].expect.since : champ inconnu « count »'),
    );
    expect(messageOf({ ...valid, checks: [check({ type: 'http', gap: { gt: 'x' } })] })).toMatch(/checks\[0\]\.expect\.gap\.gt/);
    expect(messageOf({ ...valid, checks: [check({ type: 'http', gap: 1, since: { client: 'B' } })] })).toBe(
      one('checks[0].expect.since.client : client « B » absent : ce bac à sable n’exécute que A (clients = 1)'),
    );
  });

  it('unless: needs gap, holds one event alone, and its client is checked', () => {
    const ok = { ...valid, checks: [check({ type: 'http', gap: { gte: 0 }, since: { type: 'http' }, unless: { type: 'net-drop' } })] };
    expect(parsePlaygroundProps(ok, { lesson: LESSON }).checks[0].expect).toMatchObject({ unless: { type: 'net-drop' } });
    expect(messageOf({ ...valid, checks: [check({ type: 'http', unless: { type: 'net-drop' } })] })).toBe(
      one('checks[0].expect.unless : demande « gap » : « unless » ne fait qu’effacer le point de départ de la mesure'),
    );
    expect(messageOf({ ...valid, checks: [check({ type: 'http', gap: 1, unless: { type: 'net-drop', gap: 2 } })] })).toBe(
      one('checks[0].expect.unless : champ inconnu « gap »'),
    );
    expect(messageOf({ ...valid, checks: [check({ type: 'http', gap: 1, unless: { client: 'B' } })] })).toBe(
      one('checks[0].expect.unless.client : client « B » absent : ce bac à sable n’exécute que A (clients = 1)'),
    );
  });

  it('client labels beyond clients, and perClientCode longer than clients', () => {
    expect(messageOf({ ...valid, clients: 2, checks: [check({ type: 'frame', client: 'C' })] })).toBe(
      one('checks[0].expect.client : client « C » absent : ce bac à sable n’exécute que A, B (clients = 2)'),
    );
    expect(messageOf({ ...valid, perClientCode: [null, 'x'] })).toBe(
      one('perClientCode : 2 entrées pour 1 client ; au plus une entrée par client'),
    );
  });

  it('empty constraint objects and out-of-range numbers', () => {
    expect(messageOf({ ...valid, expect: [{ text: {} }] })).toBe(
      one('expect[0].text : objet vide ; attendu au moins l’un de : includes, regex'),
    );
    expect(messageOf({ ...valid, expect: [{ opcode: 16 }] })).toBe(
      one('expect[0].opcode : valeur 16 hors limites ; attendu un entier de 0 à 15'),
    );
    expect(messageOf({ ...valid, expect: [{ count: 0 }] })).toBe(one('expect[0].count : valeur 0 trop petite ; attendu au moins 1'));
  });

  it('network conditions: accepted in bounds, each bad value named', () => {
    const network = { latencyMs: 200, bandwidth: 16384, dropAfterMs: 5000, drop: 'silent' };
    expect(parsePlaygroundProps({ ...valid, network }, { lesson: LESSON }).network).toEqual(network);
    expect(parsePlaygroundProps({ ...valid, network: { bandwidth: 1024 } }, { lesson: LESSON }).network).toEqual({ bandwidth: 1024 });
    expect(messageOf({ ...valid, network: { latencyMs: 2001 } })).toBe(
      one('network.latencyMs : valeur 2001 hors limites ; attendu un entier de 0 à 2000'),
    );
    expect(messageOf({ ...valid, network: { bandwidth: 512 } })).toBe(
      one('network.bandwidth : valeur 512 hors limites ; attendu un entier de 1024 à 1048576'),
    );
    expect(messageOf({ ...valid, network: { dropAfterMs: 1500.5 } })).toBe(
      one('network.dropAfterMs : type invalide : attendu un entier, reçu le nombre 1500.5'),
    );
    expect(messageOf({ ...valid, network: { dropAfterMs: 2000, drop: 'cable' } })).toBe(
      one('network.drop : valeur « cable » inconnue ; attendu l’une de : reset, silent'),
    );
    expect(messageOf({ ...valid, network: { drop: 'silent' } })).toBe(
      one('network.drop : demande « dropAfterMs » : le moment de la coupure'),
    );
    expect(messageOf({ ...valid, network: { latency: 200 } })).toBe(
      one('network : champ inconnu « latency » (vouliez-vous dire « latencyMs » ?)'),
    );
    expect(messageOf({ ...valid, network: {} })).toBe(
      one('network : objet vide ; attendu au moins l’un de : latencyMs, bandwidth, dropAfterMs, dropJitterMs, drop'),
    );
    expect(messageOf({ ...valid, network: { dropJitterMs: 3000 } })).toBe(
      one('network.dropJitterMs : demande « dropAfterMs » : le moment de la coupure'),
    );
    expect(messageOf({ ...valid, network: { dropAfterMs: 2000, dropJitterMs: 60001 } })).toBe(
      one('network.dropJitterMs : valeur 60001 hors limites ; attendu un entier de 0 à 60000'),
    );
  });

  it('lists several issues one per line', () => {
    expect(messageOf({ ...valid, title: '', checks: [{ id: 'a', expect: [] }] })).toBe(
      frenchTypography(
        [
          `Playground « trame-binaire » de ${LESSON}, 3 erreurs :`,
          '  - title : chaîne vide ; attendu au moins un caractère',
          '  - checks[0].label : champ obligatoire manquant',
          '  - checks[0].expect : tableau vide ; attendu au moins un élément',
        ].join('\n'),
      ),
    );
  });
});

describe('suggestions', () => {
  it('finds typos, transpositions and case slips, not unrelated words', () => {
    const keys = ['type', 'length', 'lengthForm', 'opcode'];
    expect(closest('tpye', keys)).toBe('type');
    expect(closest('lenght', keys)).toBe('length');
    expect(closest('lengthform', keys)).toBe('lengthForm');
    expect(closest('size', keys)).toBeUndefined();
  });
});

describe('documentation', () => {
  it('describes every field of every documented schema (the tables are generated from it)', () => {
    for (const [name, schema] of Object.entries(DOCUMENTED)) {
      expect(INTROS[name as keyof typeof DOCUMENTED], name).toMatch(/\.$/);
      for (const field of fieldDocs(schema)) expect(field.description, `${name}.${field.name}`).toMatch(/^\p{Lu}.{20,}\.$/u);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Every <Playground> of the real lessons, read from the MDX source with the same parser as the build.

interface MdastNode {
  type: string;
  name?: string | null;
  attributes?: { type: string; name?: string; value?: string | { value: string } | null }[];
  children?: MdastNode[];
}

const root = join(import.meta.dirname, '../../..');

function lessonFiles(dir = join(root, 'lessons')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? lessonFiles(join(dir, entry.name)) : /\.mdx$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

/** The props of each <Playground> in an MDX file (attribute expressions evaluated: they are literals). */
function playgroundsOf(file: string): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  const walk = (node: MdastNode) => {
    if (node.type.startsWith('mdxJsx') && node.name === 'Playground') {
      const props: Record<string, unknown> = {};
      for (const attr of node.attributes ?? []) {
        if (attr.type !== 'mdxJsxAttribute' || !attr.name) throw new Error(`${file}: attribut non pris en charge (${attr.type})`);
        const value = attr.value;
        props[attr.name] =
          value === null || value === undefined
            ? true
            : typeof value === 'string'
              ? value
              : (new Function(`return (${value.value});`)() as unknown);
      }
      found.push(props);
    }
    for (const child of node.children ?? []) walk(child);
  };
  walk(mdxToMdast(readFileSync(file, 'utf8')) as unknown as MdastNode);
  return found;
}

describe('real lessons', () => {
  const files = lessonFiles();
  it('finds the lessons and their playgrounds', () => {
    expect(files.length).toBeGreaterThan(5);
    expect(files.flatMap(playgroundsOf).length).toBeGreaterThan(files.length);
  });
  it.each(files.map((f) => [relative(root, f), f]))('%s: every Playground parses', (lesson, file) => {
    for (const props of playgroundsOf(file)) expect(() => parsePlaygroundProps(props, { lesson })).not.toThrow();
  });
  it('an id is unique within its lesson', () => {
    for (const file of files) {
      const ids = playgroundsOf(file).map((p) => playgroundPropsSchema.parse(p).id);
      expect(new Set(ids).size, file).toBe(ids.length);
    }
  });
});
