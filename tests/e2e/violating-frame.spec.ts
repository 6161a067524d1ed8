// Frames that break RFC 6455, sent by an external client on raw TCP into the session of a lesson's
// playground: the terminal must show each frame with the fields that could be read, the wrong
// field marked, and the violation that follows it, said in French from its id (never the server's
// English detail); the bit diagram marks the same field.
import { connect, type Socket } from 'node:net';
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures.ts';
import { VIOLATION_TEXT } from '../../site/scripts/playground/violation-text.ts';

const LESSON = '/fondations/api-websocket/';
const ID = 'api-websocket';

interface PlaygroundElement extends HTMLElement {
  terminalText(): string;
}

const playground = (page: Page) => page.locator(`aw-playground[data-id="${ID}"]`);
const terminalText = (page: Page) => playground(page).evaluate((el) => (el as PlaygroundElement).terminalText());

/**
 * Opens a raw TCP connection, upgrades it to WebSocket on `path` (no `client` parameter: an
 * external client, labelled « ext. »), waits for the 101, then writes `frame` as is.
 */
async function sendRawFrame(port: number, path: string, frame: Buffer): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {}); // the server may reset the connection after the violation
  let received = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 101 on ${path}: ${received.toString('latin1')}`)), 5000);
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      const status = received.subarray(0, end).toString('latin1').split('\r\n')[0];
      if (/^HTTP\/1\.1 101 /.test(status)) resolve();
      else reject(new Error(`upgrade refused on ${path}: ${status}`));
    });
    socket.once('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
  });
  socket.write(frame);
  return socket;
}

const HELLO = Buffer.from('Hello');
const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const masked = (payload: Buffer) => Buffer.from(payload.map((b, i) => b ^ KEY[i % 4]));

test('des trames qui violent le protocole apparaissent marquées dans le terminal et le diagramme', async ({ page }) => {
  await page.goto(LESSON);
  await playground(page).scrollIntoViewIfNeeded();
  await expect(playground(page)).toHaveAttribute('data-ready', 'true', { timeout: 20_000 });
  await playground(page).getByRole('button', { name: 'Exécuter' }).click();
  // The run's own upgrade request names the session: /s/<id>/echo.
  await expect.poll(() => terminalText(page)).toMatch(/→ HTTP GET \/s\/[^/ ]+\/echo/);
  const id = /→ HTTP GET \/s\/([^/ ]+)\/echo/.exec(await terminalText(page))![1];
  const port = Number(new URL(page.url()).port || 80);
  const sockets: Socket[] = [];
  try {
    // (1) A masked frame with the reserved opcode 0x3 (FIN=1, 5 bytes): only the opcode is wrong.
    sockets.push(await sendRawFrame(port, `/s/${id}/echo`, Buffer.concat([Buffer.from([0x83, 0x85]), KEY, masked(HELLO)])));
    const reserved =
      /^ext\. *→ ▸ reserved-non-control-3 \(0x3\) {2}FIN=1 RSV1=0 RSV2=0 RSV3=0 {2}MASK=1 {2}longueur 5 \(forme 7 bits\) {2}⚠ trame invalide/m;
    await expect.poll(() => terminalText(page)).toMatch(reserved);
    await expect.poll(() => terminalText(page)).toMatch(/^ext\. *→ ⚠ violation du protocole \(code 1002\)/m);
    let text = await terminalText(page);
    expect(text).toContain('        ⚠ opcode\u00a0: opcode 0x3 réservé');
    expect(text).not.toContain('⚠ MASK');
    expect(text).toContain(`→ ⚠ violation du protocole (code 1002)\u00a0: ${VIOLATION_TEXT.WS_ERR_RESERVED_OPCODE}`);
    expect(VIOLATION_TEXT.WS_ERR_RESERVED_OPCODE).toBe('opcode réservé, qu’aucune extension négociée ne définit (RFC 6455 §5.2).');
    expect(text).not.toContain('reserved opcode');
    expect(text.search(reserved)).toBeLessThan(text.search(/⚠ violation du protocole/));
    // The xterm.js terminal draws the same line (wrapped rows: compared without whitespace).
    const rows = playground(page).locator('.xterm-rows');
    await expect.poll(async () => (await rows.innerText()).replace(/\s+/g, '')).toContain('reserved-non-control-3(0x3)');
    expect((await rows.innerText()).replace(/\s+/g, '')).toContain('⚠trameinvalide');

    // The bit diagram of that frame marks the opcode, and only it.
    await playground(page).getByText('Trames récentes (détail bit à bit)').click();
    await playground(page)
      .getByRole('button', { name: /ext\. → serveur · reserved-non-control-3/ })
      .click();
    const table = playground(page).getByRole('table');
    await expect(table.locator('td[data-field="opcode"] .aw-pg-bits')).toHaveText('0011');
    await expect(table.locator('td[data-field="opcode"]')).toHaveAttribute('title', /⚠\sopcode 0x3 réservé/);
    await expect(table.locator('td[data-field="MASK"]')).not.toHaveAttribute('title', /⚠/);
    // Drawn in red: the faulty cell, and only it.
    await expect(table.locator('td.aw-pg-fault')).toHaveCount(1);
    await expect(table.locator('td.aw-pg-fault')).toHaveAttribute('data-field', 'opcode');
    await expect(playground(page).locator('.aw-pg-frame-detail dd').filter({ hasText: '⚠' })).toHaveText([
      /^3 \(reserved-non-control-3\)\s+⚠\sopcode 0x3 réservé$/,
    ]);

    // (2) On another connection, an unmasked client text frame « Hello »: MASK is wrong.
    sockets.push(await sendRawFrame(port, `/s/${id}/echo`, Buffer.concat([Buffer.from([0x81, 0x05]), HELLO])));
    const unmasked = /^ext\. *→ ▸ text \(0x1\) {2}FIN=1 RSV1=0 RSV2=0 RSV3=0 {2}MASK=0 {2}longueur 5 \(forme 7 bits\) {2}⚠ trame invalide/m;
    await expect.poll(() => terminalText(page)).toMatch(unmasked);
    await expect.poll(() => terminalText(page).then((t) => t.match(/⚠ violation du protocole \(code 1002\)/g)?.length ?? 0)).toBe(2);
    text = await terminalText(page);
    expect(text).toContain('        ⚠ MASK\u00a0: trame du client non masquée (MASK=0)');
    expect(text).toContain(`→ ⚠ violation du protocole (code 1002)\u00a0: ${VIOLATION_TEXT.WS_ERR_UNMASKED_CLIENT_FRAME}`);
    expect(text).not.toContain('client frame is not masked');
    expect(text.search(unmasked)).toBeLessThan(text.lastIndexOf('⚠ violation du protocole'));
    await expect.poll(async () => (await rows.innerText()).replace(/\s+/g, '')).toContain('MASK=0longueur5(forme7bits)⚠trameinvalide');
  } finally {
    for (const s of sockets) s.destroy();
  }
});
