// Serves the built site (dist/): content types, gzip/brotli negotiated per request and
// cached in memory, immutable caching for hashed assets, ETag revalidation, 404 page.
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
  // Pagefind's index fragments are already compressed binary data.
  '.pf_fragment': 'application/octet-stream',
  '.pf_index': 'application/octet-stream',
  '.pf_meta': 'application/octet-stream',
  '.pagefind': 'application/octet-stream',
};

const COMPRESSIBLE = /^(text\/|application\/(json|javascript|xml|manifest\+json|wasm)|image\/svg\+xml)/;

interface CachedFile {
  body: Buffer;
  type: string;
  etag: string;
  br?: Buffer;
  gzip?: Buffer;
}

/** Answers a GET/HEAD request from dist/; returns false for other methods. */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/**
 * Creates a handler for the files under `root`. Files are read once and kept in memory; misses are
 * not remembered (any URL can be asked for: remembering them would grow without bound).
 */
export function createStaticHandler(root: string): StaticHandler {
  const cache = new Map<string, CachedFile>();

  async function load(path: string): Promise<CachedFile | null> {
    const cached = cache.get(path);
    if (cached) return cached;
    try {
      const info = await stat(path);
      if (!info.isFile()) return null;
      const body = await readFile(path);
      const file: CachedFile = {
        body,
        type: TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
        etag: `"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}"`,
      };
      cache.set(path, file);
      return file;
    } catch {
      return null;
    }
  }

  function resolve(urlPath: string): string | null {
    let decoded: string;
    try {
      decoded = decodeURIComponent(urlPath);
    } catch {
      return null;
    }
    if (decoded.includes('\0')) return null;
    const full = normalize(join(root, decoded));
    if (full !== root && !full.startsWith(root.endsWith(sep) ? root : root + sep)) return null;
    return full;
  }

  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    // Appended to a base, not resolved against it: a target such as `//host/x` is a path here,
    // not a URL of another host.
    const target = req.url ?? '/';
    let url: URL;
    try {
      url = new URL(`http://localhost${target.startsWith('/') ? target : `/${target}`}`);
    } catch {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Requête invalide');
      return true;
    }
    const path = resolve(url.pathname);
    let file: CachedFile | null = null;
    let status = 200;
    if (path) {
      file = await load(url.pathname.endsWith('/') ? join(path, 'index.html') : path);
      if (!file && !url.pathname.endsWith('/') && !extname(url.pathname) && (await load(join(path, 'index.html')))) {
        // Leading slashes collapsed: `//host/…` in a Location is a URL of another host.
        res.writeHead(308, { Location: `/${url.pathname.replace(/^\/+/, '')}/${url.search}` }).end();
        return true;
      }
    }
    if (!file) {
      status = 404;
      file = await load(join(root, '404.html'));
      if (!file) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Page introuvable');
        return true;
      }
    }
    const headers: Record<string, string> = {
      'Content-Type': file.type,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': url.pathname.startsWith('/_astro/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    };
    if (status === 200) {
      headers.ETag = file.etag;
      if (req.headers['if-none-match'] === file.etag) {
        res.writeHead(304, headers).end();
        return true;
      }
    }
    let body = file.body;
    if (COMPRESSIBLE.test(file.type) && body.length > 1024) {
      headers.Vary = 'Accept-Encoding';
      const accept = String(req.headers['accept-encoding'] ?? '');
      if (/\bbr\b/.test(accept)) {
        file.br ??= brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9 } });
        body = file.br;
        headers['Content-Encoding'] = 'br';
      } else if (/\bgzip\b/.test(accept)) {
        file.gzip ??= gzipSync(body, { level: 9 });
        body = file.gzip;
        headers['Content-Encoding'] = 'gzip';
      }
    }
    headers['Content-Length'] = String(body.length);
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
