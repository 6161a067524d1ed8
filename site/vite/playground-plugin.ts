// Vite plugin for the playground:
// 1. `virtual:aw-runner-runtime`: site/scripts/playground/runner-runtime.ts bundled (with
//    socket.io-client) into one minified IIFE string, inlined into the sandboxed iframe; and
//    `virtual:aw-server-runtime`: the learner server's runtime (server-runtime/worker.ts), loaded
//    only by playgrounds with server code.
// 2. Library CSS (Monaco, xterm.js) turned into JS-injected <style>s via `?inline`: Astro adds
//    the CSS of dynamically imported modules to EVERY page, so a page without a playground
//    would still load it. The virtual ids must not end in `.css` (Vite would treat them as CSS).
// 3. MDX lessons: indentation inside `code={`…`}` attributes kept (see mdx-indent.ts).
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { protectTemplateIndentation } from './mdx-indent.ts';

const RUNTIME_ID = 'virtual:aw-runner-runtime';
const RUNTIME_ENTRY = fileURLToPath(new URL('../scripts/playground/runner-runtime.ts', import.meta.url));
const SERVER_RUNTIME_ID = 'virtual:aw-server-runtime';
const SERVER_RUNTIME_ENTRY = fileURLToPath(new URL('../scripts/playground/server-runtime/worker.ts', import.meta.url));
const STYLE_PREFIX = '\0aw-style-';
const LIBRARY_CSS = /[\\/]node_modules[\\/](monaco-editor|@xterm)[\\/].*\.css$/;

export function playgroundPlugin(): Plugin {
  const styles: string[] = [];
  const runtimes = new Map<string, Promise<{ code: string; files: string[] }>>();

  async function bundleRuntime(input: string) {
    const { rolldown } = await import('rolldown');
    const bundle = await rolldown({ input, platform: 'browser', logLevel: 'silent' });
    const { output } = await bundle.generate({ format: 'iife', minify: true, comments: false });
    await bundle.close();
    return { code: output[0].code.trim(), files: Object.keys(output[0].modules) };
  }

  return {
    name: 'atelier-playground',
    enforce: 'pre',
    // Dev server: Monaco is served as plain ESM (its CSS imports must reach this plugin, and
    // discovering it late would make Vite re-optimize and answer 504 "Outdated Optimize Dep").
    config: () => ({
      optimizeDeps: { exclude: ['monaco-editor'], include: ['@xterm/xterm', '@xterm/addon-fit'] },
    }),
    async resolveId(source, importer, options) {
      if (source === RUNTIME_ID || source === SERVER_RUNTIME_ID) return '\0' + source;
      if (!importer || !source.endsWith('.css')) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      if (!resolved || !LIBRARY_CSS.test(resolved.id)) return null;
      let index = styles.indexOf(resolved.id);
      if (index < 0) index = styles.push(resolved.id) - 1;
      return STYLE_PREFIX + index;
    },
    async load(id) {
      if (id === '\0' + RUNTIME_ID || id === '\0' + SERVER_RUNTIME_ID) {
        const entry = id === '\0' + RUNTIME_ID ? RUNTIME_ENTRY : SERVER_RUNTIME_ENTRY;
        if (!runtimes.has(entry)) runtimes.set(entry, bundleRuntime(entry));
        const { code, files } = await (runtimes.get(entry) as Promise<{ code: string; files: string[] }>);
        for (const f of files) if (!f.startsWith('\0')) this.addWatchFile(f);
        return `export default ${JSON.stringify(code)};`;
      }
      if (id.startsWith(STYLE_PREFIX)) {
        const file = styles[Number(id.slice(STYLE_PREFIX.length))];
        return [
          `import css from ${JSON.stringify(file + '?inline')};`,
          `if (typeof document !== 'undefined') {`,
          `  const style = document.createElement('style');`,
          `  style.dataset.awStyle = ${JSON.stringify(file.replace(/^.*node_modules[\\/]/, ''))};`,
          `  style.textContent = css;`,
          `  document.head.append(style);`,
          `}`,
        ].join('\n');
      }
      return null;
    },
    transform(code, id) {
      if (!/\.mdx(\?|$)/.test(id) || !code.includes('={`')) return null;
      const out = protectTemplateIndentation(code);
      return out === code ? null : { code: out, map: null };
    },
    watchChange(id) {
      if (id.includes('scripts/playground/')) runtimes.clear();
    },
  };
}
