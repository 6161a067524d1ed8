// A minimal `express` (4.x behaviour) for learner server code, on the `http` façade: an app is a
// request handler (`http.createServer(app)`), `app.listen()` creates a NEW http server and listens
// (so the guide's `http.createServer(app)` + `app.listen()` fails here as it does in Node: the
// server Socket.IO is attached to never listens). Routing with exact paths and `:params`,
// middlewares and error handlers, the body parsers, the response helpers lessons use, and the
// default 404 / 500 answers (« Cannot GET /x », the error logged to the server console). Written
// for the sandbox from express's documented behaviour; see the server runtime README for what is
// not supported.
import { Buffer } from 'buffer';
import type { HostLink } from './host-link.ts';
import { CREATED_BY_APP_LISTEN, createServer, STATUS_CODES } from './http.ts';
import type { IncomingRequest, Server, ServerResponse } from './http.ts';

type Next = (err?: unknown) => void;
type Middleware = (req: Request, res: Response, next: Next) => unknown;
type ErrorMiddleware = (err: unknown, req: Request, res: Response, next: Next) => unknown;
type AnyHandler = Middleware | ErrorMiddleware;

/** The request as express handlers see it. */
export interface Request extends IncomingRequest {
  app: App;
  res: Response;
  originalUrl: string;
  baseUrl: string;
  params: Record<string, string>;
  query: Record<string, string | string[]>;
  body: unknown;
  readonly path: string;
  readonly hostname: string;
  readonly ip: string;
  readonly protocol: string;
  readonly secure: boolean;
  readonly xhr: boolean;
  get(name: string): string | undefined;
  header(name: string): string | undefined;
  is(type: string): string | false;
  /** Set by a body parser once it read the body. */
  _body?: boolean;
}

/** The response as express handlers see it. */
export interface Response extends ServerResponse {
  app: App;
  locals: Record<string, unknown>;
  status(code: number): Response;
  set(field: string | Record<string, unknown>, value?: unknown): Response;
  header(field: string | Record<string, unknown>, value?: unknown): Response;
  get(field: string): unknown;
  append(field: string, value: unknown): Response;
  type(type: string): Response;
  contentType(type: string): Response;
  send(body?: unknown): Response;
  json(body?: unknown): Response;
  sendStatus(code: number): Response;
  location(url: string): Response;
  redirect(statusOrUrl: number | string, url?: string): void;
}

interface Layer {
  /** Upper-case method of a route layer; null for use() and all(). */
  method: string | null;
  /** True for a route (the whole path matches); false for use() (a prefix, stripped while it runs). */
  route: boolean;
  /** Handlers of one route declaration share an id: next('route') skips the rest of them. */
  routeId: number;
  regexp: RegExp;
  keys: string[];
  handle: AnyHandler;
}

export interface Router {
  (req: Request, res: Response, next: Next): void;
  stack: Layer[];
  use(...args: unknown[]): Router;
  all(path: string, ...handlers: unknown[]): Router;
  route(path: string): Record<string, (...handlers: unknown[]) => unknown>;
  handle(req: Request, res: Response, done: Next): void;
  [method: string]: unknown;
}

export interface App extends Router {
  locals: Record<string, unknown>;
  settings: Record<string, unknown>;
  set(name: string, value: unknown): App;
  enable(name: string): App;
  disable(name: string): App;
  enabled(name: string): boolean;
  disabled(name: string): boolean;
  listen(...args: unknown[]): Server;
}

const ROUTE_METHODS = ['get', 'post', 'put', 'delete', 'patch', 'options', 'head'];
const PARAM_NAME = /^:([A-Za-z_$][\w$]*)$/;
/** Literal path segments: no pattern syntax (express 4's ?, +, *, (), express 5's {}). */
const LITERAL_SEGMENT = /^[^*?+()[\]{}:]*$/;

const MIME: Record<string, string> = {
  json: 'application/json',
  html: 'text/html',
  htm: 'text/html',
  text: 'text/plain',
  txt: 'text/plain',
  js: 'application/javascript',
  css: 'text/css',
  xml: 'application/xml',
  csv: 'text/csv',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  bin: 'application/octet-stream',
  form: 'application/x-www-form-urlencoded',
  urlencoded: 'application/x-www-form-urlencoded',
  'event-stream': 'text/event-stream',
};

const mimeOf = (type: string) => (type.includes('/') ? type : (MIME[type.replace(/^\./, '').toLowerCase()] ?? 'application/octet-stream'));

/** `text/plain` → `text/plain; charset=utf-8`: the charset express adds to text and JSON types. */
function withCharset(type: string): string {
  if (/;\s*charset\s*=/i.test(type)) return type;
  const base = type.split(';')[0].trim().toLowerCase();
  return /^text\/|^application\/(javascript|json)$/.test(base) ? `${type}; charset=utf-8` : type;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function unsupportedPath(path: unknown): TypeError {
  return new TypeError(
    `Chemin ${typeof path === 'string' ? `«\u00a0${path}\u00a0»` : `de type ${path instanceof RegExp ? 'RegExp' : typeof path}`} non pris en charge par l’express du bac à sable\u00a0: chemins exacts («\u00a0/salons\u00a0»), paramètres («\u00a0/salons/:id\u00a0») et «\u00a0*\u00a0» seulement.`,
  );
}

/** A route path or mount path as a regular expression (case-insensitive, trailing slash allowed). */
function compile(path: unknown, end: boolean): { regexp: RegExp; keys: string[] } {
  if (typeof path !== 'string' || (path !== '' && !path.startsWith('/') && path !== '*')) throw unsupportedPath(path);
  const keys: string[] = [];
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '' && !end) return { regexp: /^/, keys };
  const parts = (trimmed === '*' ? '/*' : trimmed).split('/').slice(1);
  let source = '';
  for (const part of parts) {
    const param = PARAM_NAME.exec(part);
    if (param) {
      keys.push(param[1]);
      source += '\\/([^\\/]+?)';
    } else if (part === '*') {
      keys.push(String(keys.filter((k) => /^\d+$/.test(k)).length));
      source += '\\/(.*)';
    } else if (LITERAL_SEGMENT.test(part)) {
      source += '\\/' + escapeRegExp(part);
    } else {
      throw unsupportedPath(path);
    }
  }
  if (source.endsWith('\\/(.*)')) source = source.slice(0, -'\\/(.*)'.length) + '(?:\\/(.*))?';
  return { regexp: new RegExp('^' + source + (end ? '\\/?$' : '(?=\\/|$)'), 'i'), keys };
}

function pathnameOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The query string as express's simple parser gives it: repeated keys become arrays. */
function parseQuery(url: string): Record<string, string | string[]> {
  const q = url.indexOf('?');
  const out: Record<string, string | string[]> = {};
  if (q < 0) return out;
  for (const [k, v] of new URLSearchParams(url.slice(q + 1))) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** The HTML page of express's default error and 404 answers. */
function errorPage(message: string): string {
  const body = escapeHtml(message)
    .replace(/\n/g, '<br>')
    .replace(/\x20{2}/g, ' &nbsp;');
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n<body>\n<pre>${body}</pre>\n</body>\n</html>\n`;
}

function flatten(args: unknown[]): unknown[] {
  return args.flat(Number.POSITIVE_INFINITY);
}

let nextRouteId = 0;

function createRouter(): Router {
  const stack: Layer[] = [];
  const router = ((req: Request, res: Response, next: Next) => router.handle(req, res, next)) as Router;
  router.stack = stack;

  function addRoute(method: string | null, path: unknown, handlers: unknown[]): void {
    const fns = flatten(handlers);
    if (fns.length === 0) throw new TypeError(`Route.${method?.toLowerCase() ?? 'all'}() requires a callback function but got a undefined`);
    const { regexp, keys } = compile(path, true);
    const routeId = ++nextRouteId;
    for (const fn of fns) {
      if (typeof fn !== 'function')
        throw new TypeError(
          `Route.${method?.toLowerCase() ?? 'all'}() requires a callback function but got a ${Object.prototype.toString.call(fn)}`,
        );
      stack.push({ method, route: true, routeId, regexp, keys, handle: fn as AnyHandler });
    }
  }

  router.use = (...args: unknown[]) => {
    let path: unknown = '/';
    if (typeof args[0] === 'string' || args[0] instanceof RegExp) path = args.shift();
    const fns = flatten(args);
    if (fns.length === 0) throw new TypeError('app.use() requires a middleware function');
    const { regexp, keys } = compile(path, false);
    for (const fn of fns) {
      if (typeof fn !== 'function')
        throw new TypeError(`Router.use() requires a middleware function but got a ${Object.prototype.toString.call(fn)}`);
      stack.push({ method: null, route: false, routeId: 0, regexp, keys, handle: fn as AnyHandler });
    }
    return router;
  };
  for (const m of ROUTE_METHODS) {
    router[m] = (path: unknown, ...handlers: unknown[]) => {
      addRoute(m.toUpperCase(), path, handlers);
      return router;
    };
  }
  router.all = (path: unknown, ...handlers: unknown[]) => {
    addRoute(null, path, handlers);
    return router;
  };
  router.route = (path: string) => {
    const chain: Record<string, (...handlers: unknown[]) => unknown> = {};
    for (const m of [...ROUTE_METHODS, 'all']) {
      chain[m] = (...handlers: unknown[]) => {
        addRoute(m === 'all' ? null : m.toUpperCase(), path, handlers);
        return chain;
      };
    }
    return chain;
  };

  router.handle = (req, res, done) => {
    let idx = 0;
    /** The mount prefix taken off req.url while a use() layer runs, put back at next(). */
    let removed = '';
    let slashAdded = false;
    const parentBase = req.baseUrl ?? '';
    let skipRoute = 0;
    const next: Next = (err) => {
      if (removed) {
        req.url = removed + (slashAdded ? req.url.slice(1) : req.url);
        req.baseUrl = parentBase;
        removed = '';
        slashAdded = false;
      }
      let error: unknown = err;
      if (err === 'route') {
        error = undefined;
        skipRoute = stack[idx - 1]?.routeId ?? 0;
      } else if (err === 'router') {
        done();
        return;
      }
      while (idx < stack.length) {
        const layer = stack[idx++];
        if (layer.route && layer.routeId === skipRoute) continue;
        const path = pathnameOf(req.url);
        const m = layer.regexp.exec(path);
        if (!m) continue;
        if (layer.method && layer.method !== req.method && !(layer.method === 'GET' && req.method === 'HEAD')) continue;
        const isErrorHandler = layer.handle.length === 4;
        if (error ? !isErrorHandler : isErrorHandler) continue;
        const params: Record<string, string> = {};
        try {
          layer.keys.forEach((key, i) => {
            const raw = m[i + 1];
            if (raw !== undefined) params[key] = decodeURIComponent(raw);
          });
        } catch (e) {
          error = Object.assign(new Error(`Failed to decode param '${m[1]}'`), { status: 400, statusCode: 400, cause: e });
          continue;
        }
        req.params = params;
        if (!layer.route && m[0]) {
          removed = m[0];
          req.baseUrl = parentBase + removed;
          req.url = req.url.slice(removed.length);
          slashAdded = !req.url.startsWith('/');
          if (slashAdded) req.url = '/' + req.url;
        }
        call(layer.handle, error, req, res, next);
        return;
      }
      done(error);
    };
    next();
  };
  return router;
}

/** Runs one handler: what it throws, or the promise it returns rejects with, goes to next(err). */
function call(fn: AnyHandler, err: unknown, req: Request, res: Response, next: Next): void {
  try {
    const out = err ? (fn as ErrorMiddleware)(err, req, res, next) : (fn as Middleware)(req, res, next);
    if (out && typeof (out as Promise<unknown>).then === 'function') {
      (out as Promise<unknown>).then(undefined, (e: unknown) => next(e || new Error('Rejected promise')));
    }
  } catch (e) {
    next(e);
  }
}

/** Adds express's request and response methods to Node's objects (once per request). */
function decorate(app: App, req: Request, res: Response): void {
  if ((req as { app?: unknown }).app) return;
  req.app = app;
  res.app = app;
  req.res = res;
  req.originalUrl = req.url;
  req.baseUrl = '';
  req.params = {};
  req.query = parseQuery(req.url);
  res.locals = Object.create(app.locals);
  const define = (name: string, get: () => unknown) => Object.defineProperty(req, name, { configurable: true, get });
  define('path', () => pathnameOf(req.url));
  define('hostname', () => (req.headers.host ?? '').replace(/:\d+$/, ''));
  define('ip', () => req.socket.remoteAddress);
  define('protocol', () => 'http');
  define('secure', () => false);
  define('xhr', () => (req.headers['x-requested-with'] ?? '').toLowerCase() === 'xmlhttprequest');
  req.get = (name: string) => {
    const key = String(name).toLowerCase();
    return key === 'referer' || key === 'referrer' ? (req.headers.referer ?? req.headers.referrer) : req.headers[key];
  };
  req.header = req.get;
  req.is = (type: string) => {
    const actual = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    return actual && typeMatches(actual, type) ? type : false;
  };

  res.status = (code: number) => {
    res.statusCode = code;
    return res;
  };
  res.set = (field: string | Record<string, unknown>, value?: unknown) => {
    if (typeof field === 'object') {
      for (const [k, v] of Object.entries(field)) res.set(k, v);
      return res;
    }
    let v: unknown = Array.isArray(value) ? value.map(String) : String(value);
    if (field.toLowerCase() === 'content-type') {
      if (Array.isArray(v)) throw new TypeError('Content-Type cannot be set to an Array');
      v = withCharset(v as string);
    }
    res.setHeader(field, v);
    return res;
  };
  res.header = res.set;
  res.get = (field: string) => res.getHeader(field);
  res.append = (field: string, value: unknown) => {
    res.appendHeader(field, Array.isArray(value) ? value.map(String) : String(value));
    return res;
  };
  res.type = (type: string) => res.set('Content-Type', mimeOf(type));
  res.contentType = res.type;
  res.send = (body?: unknown) => {
    let chunk = body;
    if (typeof chunk === 'number') {
      // express 4: res.send(status) sends the status's text.
      if (!res.get('Content-Type')) res.type('txt');
      res.statusCode = chunk;
      chunk = STATUS_CODES[chunk] ?? String(chunk);
    }
    if (chunk === null) chunk = '';
    if (typeof chunk === 'boolean' || (typeof chunk === 'object' && !(chunk instanceof Uint8Array))) return res.json(chunk);
    if (chunk instanceof Uint8Array) {
      if (!res.get('Content-Type')) res.type('bin');
    } else if (typeof chunk === 'string') {
      const type = res.get('Content-Type');
      res.set('Content-Type', typeof type === 'string' ? withCharset(type) : 'text/html; charset=utf-8');
    }
    const bytes = chunk === undefined ? undefined : typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Uint8Array);
    if (bytes !== undefined) res.set('Content-Length', bytes.length);
    if (res.statusCode === 204 || res.statusCode === 304) {
      res.removeHeader('Content-Type');
      res.removeHeader('Content-Length');
      res.removeHeader('Transfer-Encoding');
      res.end();
      return res;
    }
    if (req.method === 'HEAD' || bytes === undefined) res.end();
    else res.end(bytes);
    return res;
  };
  res.json = (body?: unknown) => {
    const replacer = app.settings['json replacer'] as ((k: string, v: unknown) => unknown) | undefined;
    const spaces = app.settings['json spaces'] as number | string | undefined;
    const text = JSON.stringify(body, replacer, spaces);
    if (!res.get('Content-Type')) res.set('Content-Type', 'application/json');
    return res.send(text ?? '');
  };
  res.sendStatus = (code: number) => {
    res.statusCode = code;
    res.type('txt');
    return res.send(STATUS_CODES[code] ?? String(code));
  };
  res.location = (url: string) => res.set('Location', encodeURI(url === 'back' ? (req.get('referrer') ?? '/') : url));
  res.redirect = (statusOrUrl: number | string, url?: string) => {
    const status = typeof statusOrUrl === 'number' ? statusOrUrl : 302;
    const address = String(typeof statusOrUrl === 'number' ? url : statusOrUrl);
    res.location(address);
    res.statusCode = status;
    res.set('Content-Type', 'text/plain');
    res.send(`${STATUS_CODES[status] ?? status}. Redirecting to ${res.get('Location')}`);
  };
  for (const name of ['sendFile', 'download', 'render', 'cookie', 'clearCookie', 'attachment', 'format', 'jsonp', 'vary', 'links']) {
    (res as unknown as Record<string, unknown>)[name] = () => {
      throw new Error(
        `res.${name}() n’est pas pris en charge par l’express du bac à sable (pas de fichiers, de vues ni de cookies)\u00a0: utilisez res.json(), res.send() ou res.set().`,
      );
    };
  }
}

/** Express's default final handler: 404 « Cannot GET /x », or the error (logged, its stack in the page outside production). */
function finalHandler(app: App, req: Request, res: Response, log: (text: string) => void): Next {
  return (err) => {
    let status = 404;
    let message = `Cannot ${req.method} ${encodeURI(pathnameOf(req.originalUrl ?? req.url))}`;
    if (err) {
      const e = err as { status?: unknown; statusCode?: unknown; stack?: unknown };
      const given = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 0;
      status = given >= 400 && given <= 599 ? given : 500;
      const text = typeof e.stack === 'string' ? e.stack : String(err);
      if (app.settings.env !== 'test') log(text);
      message = app.settings.env === 'production' ? (STATUS_CODES[status] ?? String(status)) : text;
    }
    if (res.headersSent) {
      // Too late for an error page: the connection is cut, as express does.
      res.destroy();
      return;
    }
    const body = errorPage(message);
    res.statusCode = status;
    res.statusMessage = STATUS_CODES[status] ?? 'unknown';
    for (const name of ['Content-Encoding', 'Content-Language', 'Content-Range']) res.removeHeader(name);
    res.setHeader('Content-Security-Policy', "default-src 'none'");
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    if (req.method === 'HEAD') res.end();
    else res.end(body);
  };
}

/** True when a content type (no parameters) matches a type option: 'json', 'text/*', '*\/*', 'application/json'… */
function typeMatches(actual: string, spec: string): boolean {
  const wanted = spec.includes('/') ? spec.toLowerCase() : (MIME[spec.toLowerCase()] ?? `*/${spec.toLowerCase()}`);
  if (wanted === '*/*') return true;
  const [ta, sa] = actual.split('/');
  const [tw, sw] = wanted.split('/');
  if (sw?.startsWith('*+')) return sa?.endsWith(sw.slice(1)) ?? false;
  return (tw === '*' || tw === ta) && (sw === '*' || sw === sa);
}

interface ParserOptions {
  type?: string | string[] | ((req: Request) => boolean);
  limit?: number | string;
  strict?: boolean;
  reviver?: (key: string, value: unknown) => unknown;
}

function limitOf(limit: number | string | undefined): number {
  if (typeof limit === 'number') return limit;
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(String(limit ?? '100kb').trim());
  if (!m) return 100 * 1024;
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * unit);
}

function httpError(status: number, message: string, type: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { status, statusCode: status, expose: status < 500, type, ...extra });
}

/** A body parser: reads the body of matching requests and sets req.body (body-parser's behaviour). */
function bodyParser(defaultType: string, options: ParserOptions, parse: (raw: Buffer, req: Request) => unknown): Middleware {
  const limit = limitOf(options.limit);
  const type = options.type ?? defaultType;
  const matches = (req: Request) => {
    if (typeof type === 'function') return !!type(req);
    const actual = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    return !!actual && (Array.isArray(type) ? type : [type]).some((t) => typeMatches(actual, t));
  };
  return (req, _res, next) => {
    if (req._body) {
      next();
      return;
    }
    req.body = req.body || {};
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || !Number.isNaN(Number.parseInt(req.headers['content-length'] ?? '', 10));
    if (!hasBody || !matches(req) || req.readableEnded) {
      next();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: unknown) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      size += b.length;
      chunks.push(b);
    });
    req.once('end', () => {
      if (size > limit) {
        next(httpError(413, 'request entity too large', 'entity.too.large', { expected: size, length: size, limit }));
        return;
      }
      req._body = true;
      try {
        req.body = parse(Buffer.concat(chunks, size), req);
      } catch (err) {
        next(err);
        return;
      }
      next();
    });
  };
}

function json(options: ParserOptions = {}): Middleware {
  const strict = options.strict !== false;
  return bodyParser('application/json', options, (raw) => {
    const text = raw.toString('utf8');
    if (text.length === 0) return {};
    const first = /\S/.exec(text);
    if (strict && first && first[0] !== '{' && first[0] !== '[') {
      throw httpError(
        400,
        `Unexpected token '${first[0]}', "${text.slice(0, 20)}" is not valid JSON (strict mode: object or array expected)`,
        'entity.parse.failed',
        {
          body: text,
        },
      );
    }
    try {
      return JSON.parse(text, options.reviver);
    } catch (err) {
      throw Object.assign(err as Error, { status: 400, statusCode: 400, expose: true, type: 'entity.parse.failed', body: text });
    }
  });
}

function formObject(text: string): Record<string, string | string[]> {
  return parseQuery('?' + text);
}

export function expressModule(link: HostLink): unknown {
  function express(): App {
    const app = createRouter() as App;
    const routerHandle = app.handle;
    app.locals = Object.create(null);
    app.settings = { env: 'development', 'x-powered-by': true, 'json spaces': undefined, 'json replacer': undefined };
    app.locals.settings = app.settings;
    const getRoute = app.get as (...args: unknown[]) => App;
    // app.get(name) with one argument reads a setting; otherwise it declares a GET route.
    app.get = (...args: unknown[]) => (args.length === 1 && typeof args[0] === 'string' ? app.settings[args[0]] : getRoute(...args));
    app.set = (name: string, value: unknown) => {
      app.settings[name] = value;
      return app;
    };
    app.enable = (name) => app.set(name, true);
    app.disable = (name) => app.set(name, false);
    app.enabled = (name) => !!app.settings[name];
    app.disabled = (name) => !app.settings[name];
    app.handle = (req, res, callback) => {
      decorate(app, req, res);
      // Express 4 sets it in the middleware its router starts with, made by the first route or
      // `use`: an app without any answers its 404 without it.
      if (app.stack.length > 0 && app.settings['x-powered-by'] && !res.headersSent) res.setHeader('X-Powered-By', 'Express');
      routerHandle(req, res, callback ?? finalHandler(app, req, res, (text) => link.console.error(text)));
    };
    app.listen = (...args: unknown[]) => {
      // A new http server, as express does: not the one `http.createServer(app)` made.
      const server = createServer(link, app as unknown as (req: IncomingRequest, res: ServerResponse) => void);
      server[CREATED_BY_APP_LISTEN] = true;
      return server.listen(...args);
    };
    for (const name of ['engine', 'render', 'param', 'path']) {
      (app as unknown as Record<string, unknown>)[name] = () => {
        throw new Error(`app.${name}() n’est pas pris en charge par l’express du bac à sable.`);
      };
    }
    return app;
  }
  return Object.assign(express, {
    json,
    urlencoded: (options: ParserOptions = {}) =>
      bodyParser('application/x-www-form-urlencoded', options, (raw) => formObject(raw.toString('utf8'))),
    text: (options: ParserOptions = {}) => bodyParser('text/plain', options, (raw) => raw.toString('utf8')),
    raw: (options: ParserOptions = {}) => bodyParser('application/octet-stream', options, (raw) => raw),
    static: (root?: unknown) => {
      link.warnOnce(
        'express.static',
        `[bac à sable] express.static(${typeof root === 'string' ? `\u00a0«\u00a0${root}\u00a0»\u00a0` : ''}) n’est pas pris en charge\u00a0: le serveur de la leçon n’a pas de fichiers. Les requêtes passent aux routes suivantes (404 sinon).`,
      );
      const serveStatic: Middleware = (_req, _res, next) => next();
      return serveStatic;
    },
    Router: () => createRouter(),
  });
}
