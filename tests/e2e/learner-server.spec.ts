// The learner's server code in Chromium: it runs in its own Worker of the sandboxed iframe, the
// sandbox holds the real ws server, and clients from outside the page reach it too.
import type { Page } from '@playwright/test';
import { io as ioClient } from 'socket.io-client';
import WebSocket from 'ws';
import { HOST_AUTH_FAILED, HOST_GONE_CLOSE_CODE } from '#protocol/host';
import { test, expect } from './fixtures.ts';

const LESSON = '/production/securite/';
const ID = 'verifier-origin';

interface PlaygroundElement extends HTMLElement {
  terminalText(): string;
  setServerCode(code: string): void;
  serverCode(): string;
}

const playground = (page: Page) => page.locator(`aw-playground[data-id="${ID}"]`);
const serverConsole = (page: Page) => playground(page).getByRole('log', { name: 'Console du serveur' });

async function open(page: Page): Promise<void> {
  await page.goto(LESSON);
  await playground(page).scrollIntoViewIfNeeded();
  await expect(playground(page)).toHaveAttribute('data-ready', 'true', { timeout: 20_000 });
}

async function runServer(page: Page, code: string): Promise<void> {
  await playground(page).evaluate((el, c) => (el as PlaygroundElement).setServerCode(c), code);
  await playground(page).getByRole('button', { name: 'Exécuter' }).click();
}

/** The session's WebSocket base (ws://…/s/<id>/), from the terminal's first request line. */
async function sessionBase(page: Page, port: string): Promise<string> {
  let id = '';
  await expect
    .poll(async () => {
      id = /GET \/s\/([^/ ]+)\//.exec(await playground(page).evaluate((el) => (el as PlaygroundElement).terminalText()))?.[1] ?? '';
      return id;
    })
    .not.toBe('');
  return `ws://127.0.0.1:${port}/s/${id}/`;
}

test('le code serveur s’exécute : console du serveur avec numéros de ligne, onglets serveur.js / client.js', async ({ page }) => {
  await open(page);
  const tabs = playground(page).getByRole('tablist');
  await expect(tabs.getByRole('tab', { name: 'client.js' })).toHaveAttribute('aria-selected', 'true');
  await tabs.getByRole('tab', { name: /serveur\.js/ }).click();
  await expect(tabs.getByRole('tab', { name: /serveur\.js/ })).toHaveAttribute('aria-selected', 'true');
  await playground(page).getByRole('button', { name: 'Exécuter' }).click();
  // Line 9 of the starter: console.log('connexion acceptée, Origin :', req.headers.origin).
  await expect(serverConsole(page)).toContainText('[ligne 9] connexion acceptée, Origin : null');
  await expect(serverConsole(page)).toContainText(
    /Serveur à l’écoute \(port 8080 symbolique\)\u00a0: les clients l’atteignent à (ws|http):\/\/127\.0\.0\.1:\d+\/s\//,
  );
  await expect(playground(page).getByRole('log', { name: 'Console', exact: true })).toContainText('reçu : écho : bonjour');
});

test('les titres de la page se suivent sans sauter de niveau (bac à sable compris)', async ({ page }) => {
  await open(page);
  const levels = await page
    .locator('main')
    .evaluate((main) => [...main.querySelectorAll('h1, h2, h3, h4, h5, h6')].map((h) => Number(h.tagName[1])));
  expect(levels).toContain(3);
  const skips = levels.flatMap((level, i) => (i > 0 && level > levels[i - 1] + 1 ? [`h${levels[i - 1]} → h${level}`] : []));
  expect(skips).toEqual([]);
});

test('un lien de partage transmet aussi le code serveur, sans l’exécuter', async ({ page, browser, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await open(page);
  const edited = `// partagé\nconst { WebSocketServer } = require('ws');\nnew WebSocketServer({ port: 1 });\n`;
  await playground(page).evaluate((el, c) => (el as PlaygroundElement).setServerCode(c), edited);
  await playground(page).getByRole('button', { name: 'Partager' }).click();
  // The link is written once both files are compressed (asynchronously): wait for it.
  await expect(playground(page).locator('.aw-pg-share-url')).toHaveValue(/#pg-.*&pg-.*\.serveur=/);
  const url = await playground(page).locator('.aw-pg-share-url').inputValue();
  expect(url).toContain(`#pg-${ID}=`);
  expect(url).toContain(`&pg-${ID}.serveur=`);
  const other = await browser.newPage();
  await other.goto(url);
  // The element's script may run after the load event: wait for it before calling its methods.
  await other.waitForFunction(() => customElements.get('aw-playground') !== undefined);
  const received = other.locator(`aw-playground[data-id="${ID}"]`);
  await expect.poll(() => received.evaluate((el) => (el as PlaygroundElement).serverCode())).toBe(edited);
  await expect(received.getByRole('log', { name: 'Console du serveur' })).toBeEmpty();
  await other.close();
});

test('une erreur du serveur s’affiche avec sa ligne', async ({ page }) => {
  await open(page);
  await runServer(page, `const { WebSocketServer } = require('ws');\nnew WebSocketServer({ port: 1 });\nrequire('mongodb');\n`);
  await expect(serverConsole(page)).toContainText('[ligne 3] erreur');
  await expect(serverConsole(page)).toContainText('Module « mongodb » indisponible');
});

test('un client extérieur (ws de Node) parle au serveur de l’apprenant et apparaît dans le terminal', async ({ page }) => {
  await open(page);
  await runServer(
    page,
    `const { WebSocketServer } = require('ws');\nnew WebSocketServer({ port: 1 }).on('connection', (ws) => ws.on('message', (m) => ws.send('serveur : ' + m)));\n`,
  );
  const base = await sessionBase(page, new URL(page.url()).port);
  const outside = new WebSocket(`${base}externe`);
  const reply = new Promise<string>((resolve) => outside.once('message', (d) => resolve(String(d))));
  await new Promise((resolve, reject) => {
    outside.once('open', resolve);
    outside.once('error', reject);
  });
  // « Connecter votre propre client » gives the learner server's address, not a built-in scenario's.
  await playground(page).getByText('Connecter votre propre client').click();
  await expect(playground(page).locator('.aw-pg-cmd-wscat')).toHaveText(`npx wscat -c "${base}"`);
  await expect(playground(page).locator('.aw-pg-connect-urls')).toContainText('le serveur de la leçon, quel que soit le chemin');
  outside.send('depuis Node');
  expect(await reply).toBe('serveur : depuis Node');
  await expect.poll(() => playground(page).evaluate((el) => (el as PlaygroundElement).terminalText())).toContain('serveur : depuis Node');
  outside.close();
});

test('un client socket.io-client de Node parle au serveur Socket.IO de l’apprenant et apparaît dans le terminal', async ({ page }) => {
  await open(page);
  await runServer(
    page,
    [
      "const http = require('http');",
      "const { Server } = require('socket.io');",
      'const server = http.createServer();',
      'const io = new Server(server);',
      "io.on('connection', (socket) => socket.on('salut', (text, ack) => ack('serveur : ' + text)));",
      'server.listen(3000);',
      '',
    ].join('\n'),
  );
  // The page's own client (a WebSocket to /chat) writes the session's first request line.
  const base = new URL(await sessionBase(page, new URL(page.url()).port));
  const outside = ioClient(`http://${base.host}`, { path: `${base.pathname}socket.io/`, reconnection: false });
  try {
    const answer = await outside.timeout(10_000).emitWithAck('salut', 'depuis Node');
    expect(answer).toBe('serveur : depuis Node');
    // Both the event and its acknowledgement are decoded in the page's terminal.
    await expect
      .poll(() => playground(page).evaluate((el) => (el as PlaygroundElement).terminalText()))
      .toMatch(/salut[\s\S]*serveur : depuis Node/);
  } finally {
    outside.close();
  }
});

test('une boucle infinie du serveur laisse la page répondre ; « Arrêter » ferme ses connexions (1012)', async ({ page }) => {
  await open(page);
  await runServer(
    page,
    `const { WebSocketServer } = require('ws');\nnew WebSocketServer({ port: 1 }).on('connection', (ws) => ws.on('message', (m) => { if (String(m) === 'go') while (true) {} }));\n`,
  );
  const base = await sessionBase(page, new URL(page.url()).port);
  const outside = new WebSocket(`${base}boucle`);
  await new Promise((resolve, reject) => {
    outside.once('open', resolve);
    outside.once('error', reject);
  });
  const closed = new Promise<number>((resolve) => outside.once('close', (code) => resolve(code)));
  outside.send('go');
  // The page still answers while the server's Worker loops.
  expect(await page.evaluate(() => 6 * 7)).toBe(42);
  await playground(page).getByRole('button', { name: 'Arrêter' }).click();
  expect(await closed).toBe(HOST_GONE_CLOSE_CODE);
});

test('une page qui ne connaît que l’adresse d’apprenant ne peut pas devenir l’hôte', async ({ page, browser }) => {
  await open(page);
  await playground(page).getByRole('button', { name: 'Exécuter' }).click();
  const base = await sessionBase(page, new URL(page.url()).port);
  const id = /\/s\/([^/]+)\//.exec(base)?.[1];
  const other = await browser.newPage();
  await other.goto('/');
  const code = await other.evaluate(
    (url) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url);
        ws.onopen = () => ws.send(JSON.stringify({ t: 'auth', secret: 'devine' }));
        ws.onclose = (e) => resolve(e.code);
      }),
    `${base.replace(/\/s\/.*$/, '')}/api/sessions/${id}/host`,
  );
  expect(code).toBe(HOST_AUTH_FAILED);
  await other.close();
});

test('le code serveur ne voit jamais le secret de l’hôte (un lien partagé exécute le code d’un autre)', async ({ page }) => {
  await open(page);
  // Someone else's code, as a shared link would run it: it patches what the runtime might call
  // later with the secret, and says what it saw.
  await runServer(
    page,
    [
      "const seen = (v) => typeof v === 'string' ? v.includes('\"auth\"') || v.includes('secret') : !!v && typeof v === 'object' && ('secret' in v || v.t === 'auth');",
      'const stringify = JSON.stringify;',
      "JSON.stringify = function (v, ...rest) { if (seen(v)) console.log('SECRET VU'); return stringify.call(this, v, ...rest); };",
      'const concat = String.prototype.concat;',
      "String.prototype.concat = function (...a) { if (a.some(seen)) console.log('SECRET VU'); return concat.apply(this, a); };",
      "const { WebSocketServer } = require('ws');",
      "new WebSocketServer({ port: 8080 }).on('connection', (ws) => { console.log('client connecté'); ws.on('message', (m) => ws.send(m)); });",
    ].join('\n'),
  );
  await expect(serverConsole(page)).toContainText('client connecté');
  await expect(serverConsole(page)).not.toContainText('SECRET VU');
});

/** The box of an area of the playground, in CSS pixels of the viewport. */
const box = async (page: Page, selector: string) => {
  const b = await playground(page).locator(selector).first().boundingBox();
  if (!b) throw new Error(`${selector} : invisible`);
  return b;
};

test('à 1280×800, « Plein écran » donne la fenêtre entière aux éditeurs, consoles et terminal ; Échap rend la page', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await open(page);
  const focus = playground(page).getByRole('button', { name: 'Plein écran' });
  const inPage = await box(page, '.aw-pg-editor:not([hidden])');
  await focus.click();
  await expect(focus).toHaveAttribute('aria-pressed', 'true');
  const section = await box(page, '.aw-pg');
  expect(section).toMatchObject({ x: 0, y: 0, width: 1280, height: 800 });
  const editor = await box(page, '.aw-pg-editor:not([hidden])');
  const terminal = await box(page, '.aw-pg-xterm');
  // Side by side, each about half the window, and both start inside the window.
  expect(editor.width).toBeGreaterThan(560);
  expect(terminal.width).toBeGreaterThan(560);
  expect(terminal.x).toBeGreaterThanOrEqual(editor.x + editor.width);
  expect(editor.y + 100).toBeLessThan(800);
  expect(terminal.y + 100).toBeLessThan(800);
  expect(editor.height).toBeGreaterThan(inPage.height);
  // The server's tab and console are reachable in the focused playground.
  await playground(page)
    .getByRole('tab', { name: /serveur\.js/ })
    .click();
  expect((await box(page, '.aw-pg-editor-server')).width).toBeGreaterThan(560);
  await playground(page).getByRole('button', { name: 'Exécuter' }).click();
  await expect(serverConsole(page)).toContainText('connexion acceptée');
  // Both consoles whole in the window, beside each other under the editor.
  await expect(serverConsole(page)).toBeInViewport({ ratio: 1 });
  await expect(playground(page).getByRole('log', { name: 'Console', exact: true })).toBeInViewport({ ratio: 1 });
  // Échap gives the page back, the focus on the button.
  await page.keyboard.press('Escape');
  await expect(focus).toHaveAttribute('aria-pressed', 'false');
  await expect(focus).toBeFocused();
  expect((await box(page, '.aw-pg')).width).toBeLessThan(1280);
});

test('sur un téléphone (390 px), le bac à sable tient dans la largeur, en plein écran aussi', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await open(page);
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(await overflow()).toBeLessThanOrEqual(0);
  const editor = await box(page, '.aw-pg-editor:not([hidden])');
  expect(editor.x).toBeGreaterThanOrEqual(0);
  expect(editor.x + editor.width).toBeLessThanOrEqual(390);
  expect(editor.width).toBeGreaterThan(250);
  await playground(page).getByRole('button', { name: 'Plein écran' }).click();
  // One column: the terminal under the editor, both the width of the window.
  const full = await box(page, '.aw-pg-editor:not([hidden])');
  const terminal = await box(page, '.aw-pg-xterm');
  expect(full.width).toBeGreaterThan(330);
  expect(terminal.y).toBeGreaterThanOrEqual(full.y + full.height);
  expect(terminal.x + terminal.width).toBeLessThanOrEqual(390);
  expect(await overflow()).toBeLessThanOrEqual(0);
});
