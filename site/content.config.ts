import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import type { Loader } from 'astro/loaders';
import { z } from 'astro/zod';
import { docsSchema } from '@astrojs/starlight/schema';
import { relative } from 'node:path';

// Validation messages in French, like the rest of the course.
z.config(z.locales.fr());

// Fields a course lesson needs on top of Starlight's own frontmatter. Every field
// documents itself: `npm run new-lesson` and the « Écrire une leçon » page rely on it.
export const lessonFields = z.object({
  sidebar: z.object({
    order: z
      .number()
      .int()
      .positive()
      .describe('Position de la leçon dans sa partie (1, 2, 3…) ; fixe l’ordre de la barre latérale et des liens précédent/suivant.'),
  }),
  duration: z.number().int().min(1).max(240).describe('Durée estimée de la leçon, en minutes.'),
  objectives: z
    .array(z.string().min(1))
    .min(1)
    .describe('Objectifs d’apprentissage : ce que l’apprenant saura faire à la fin (au moins un).'),
  prerequisites: z
    .array(z.string().regex(/^[a-z0-9-]+\/[a-z0-9-]+$/, 'attendu : « partie/leçon », par exemple « fondations/poignee-de-main »'))
    .default([])
    .describe('Leçons à suivre avant celle-ci, sous la forme « partie/leçon ».'),
  sources: z
    .array(z.object({ label: z.string().min(1), url: z.url() }))
    .min(1)
    .describe('Sources normatives des affirmations de la leçon (RFC 6455, WHATWG, documentation Socket.IO…).'),
});

/** Turns a failed lesson validation into one message naming the file and each field. */
export function describeLessonErrors(filePath: string, issues: z.core.$ZodIssue[]): string {
  const lines = issues.map((i) => `  - champ « ${i.path.join('.') || '(racine)'} » : ${i.message}`);
  return `Frontmatter invalide dans ${filePath} :\n${lines.join('\n')}`;
}

// The glob loader wrapped so that every file in lessons/ must carry the lesson fields.
// The collection schema keeps them optional because Starlight validates non-lesson pages
// (the home page) against the same schema.
function lessonsLoader(): Loader {
  const inner = glob({ base: './lessons', pattern: '**/*.{md,mdx}' });
  return {
    name: 'atelier-lessons',
    load: (context) =>
      inner.load({
        ...context,
        parseData: async (entry) => {
          const result = lessonFields.safeParse(entry.data);
          if (!result.success) {
            throw new Error(describeLessonErrors(relative(process.cwd(), entry.filePath ?? entry.id), result.error.issues));
          }
          return context.parseData(entry);
        },
      }),
  };
}

export const collections = {
  docs: defineCollection({
    loader: lessonsLoader(),
    schema: docsSchema({ extend: lessonFields.partial() }),
  }),
};
