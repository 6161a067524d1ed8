// @ts-check
import { defineConfig } from 'astro/config';
import starlight from '@astrojs/starlight';
import mdx from '@astrojs/mdx';
import { parts } from './site/course-parts.ts';
import { satteri } from '@astrojs/markdown-satteri';
import { frenchTypographyPlugin } from './site/typography.ts';
import { playgroundPlugin } from './site/vite/playground-plugin.ts';
import sandbox from './sandbox-server/astro-integration.ts';

export default defineConfig({
  srcDir: './site',
  publicDir: './site/public',
  // Pages are static files served by the sandbox's Node process (see sandbox-server/).
  output: 'static',
  trailingSlash: 'always',
  devToolbar: { enabled: false },
  markdown: { processor: satteri({ mdastPlugins: [frenchTypographyPlugin] }) },
  integrations: [
    // The sandbox rides on the dev server (npm run dev); production uses sandbox-server/main.ts.
    sandbox(),
    starlight({
      title: 'Atelier WebSocket',
      description: 'Apprendre WebSocket et Socket.IO en regardant ses propres octets passer sur le fil.',
      defaultLocale: 'root',
      locales: { root: { label: 'Français', lang: 'fr' } },
      // Lessons live outside site/content/docs: Starlight must still process their asides.
      markdown: { processedDirs: ['./lessons'] },
      // The playground needs the width a table of contents would take.
      tableOfContents: false,
      pagination: true,
      lastUpdated: false,
      customCss: ['./site/styles/course.css'],
      components: { MarkdownContent: './site/components/overrides/MarkdownContent.astro' },
      sidebar: [
        { label: 'Accueil', link: '/' },
        ...parts.map((part) => ({
          label: part.label,
          items: [{ autogenerate: { directory: `lessons/${part.dir}` } }],
        })),
        { label: 'Écrire une leçon', link: '/ecrire-une-lecon/' },
      ],
    }),
    mdx(),
  ],
  vite: {
    // Playground: Monaco's workers are ES modules; library CSS injected from JS (see site/vite/).
    worker: { format: 'es' },
    plugins: [playgroundPlugin()],
  },
});
