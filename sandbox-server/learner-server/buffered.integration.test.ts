// ws.bufferedAmount as the learner's server code sees it, against a real slow reader: a session
// whose link is capped (network conditions), a real ws client, the same façade runtime the
// browser Worker loads. A loop that paces its sends on bufferedAmount must behave as on Node:
// pause while the bytes wait, never reach the sandbox's unread-bytes limit, see 0 once they left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runServerCode } from '../../site/scripts/playground/server-runtime/run.ts';
import { closed, startApp, within } from '../test-helpers.ts';
import type { TestApp } from '../test-helpers.ts';
import { openHost, until } from './test-host.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t.close());

/** A learner-server session whose connections are capped at `bandwidth` bytes/s each way. */
async function cappedLearnerSession(bandwidth: number): Promise<{ id: string; secret: string }> {
  const res = await fetch(`${t.http}/api/sessions?server=1`, {
    method: 'POST',
    body: JSON.stringify({ network: { bandwidth } }),
    signal: AbortSignal.timeout(5000),
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { id: string; hostSecret: string };
  return { id: body.id, secret: body.hostSecret };
}

const CHUNK = 32 * 1024;
const CHUNKS = 48; // 1.5 MiB: more than the 1 MiB a learner socket may hold unread
const HIGH = 128 * 1024;

// The pacing loop of a Node server: send while bufferedAmount is under HIGH, check again later.
const PACED = `
const { WebSocketServer } = require('ws');
const chunk = Buffer.alloc(${CHUNK}, 97);
new WebSocketServer({ port: 8080 }).on('connection', (ws) => {
  let sent = 0;
  let peak = 0;
  let paused = 0;
  console.log('avant', ws.bufferedAmount);
  function pump() {
    while (sent < ${CHUNKS} && ws.bufferedAmount < ${HIGH}) {
      ws.send(chunk);
      sent++;
      peak = Math.max(peak, ws.bufferedAmount);
    }
    if (sent < ${CHUNKS}) {
      paused++;
      setTimeout(pump, 10);
    } else waitEmpty();
  }
  function waitEmpty() {
    if (ws.bufferedAmount === 0) console.log('vide', sent, peak, paused);
    else setTimeout(waitEmpty, 10);
  }
  pump();
});
`;

describe('bufferedAmount of the learner server code', () => {
  it('paces a send loop on a capped link as on Node, and returns to 0 once the bytes left', async () => {
    const { id, secret } = await cappedLearnerSession(512 * 1024);
    const h = await openHost(t, id, secret);
    runServerCode(PACED, h.link);
    const client = new WebSocket(`${t.ws}/s/${id}/`);
    let received = 0;
    client.on('message', (data: Buffer) => {
      received += data.length;
    });
    const end = closed(client, 20_000);
    await until(() => h.logs.some((l) => l.startsWith('log: vide')), 'bufferedAmount back to 0', 15_000);
    await until(() => received === CHUNK * CHUNKS, 'every byte received', 5000);
    expect(h.logs).toContain('log: avant 0');
    const [, sent, peak, paused] = (h.logs.find((l) => l.startsWith('log: vide')) as string).split(' ').slice(1).map(Number);
    expect(sent).toBe(CHUNKS);
    // The loop saw the bytes at once (no more than one chunk past HIGH) and had to wait for them.
    expect(peak).toBeGreaterThanOrEqual(HIGH);
    expect(peak).toBeLessThanOrEqual(HIGH + CHUNK + 4);
    expect(paused).toBeGreaterThan(3);
    // Never over the unread-bytes limit: the connection is still open.
    expect(client.readyState).toBe(WebSocket.OPEN);
    // Reports are coalesced: far fewer than one per frame.
    const reports = h.received.filter((m) => m.t === 'buffered').length;
    expect(reports).toBeGreaterThan(0);
    expect(reports).toBeLessThan(400);
    client.close();
    await within(end, 5000, 'client closed');
    h.ws.close();
  }, 30_000);

  it('rises at the moment of send and falls back to 0 for a fast reader', async () => {
    const res = await fetch(`${t.http}/api/sessions?server=1`, { method: 'POST' });
    const { id, hostSecret } = (await res.json()) as { id: string; hostSecret: string };
    const h = await openHost(t, id, hostSecret);
    runServerCode(
      `
const { WebSocketServer } = require('ws');
new WebSocketServer({ port: 8080 }).on('connection', (ws) => {
  const a = ws.bufferedAmount;
  ws.send('x'.repeat(200));
  const b = ws.bufferedAmount;
  const check = () => (ws.bufferedAmount === 0 ? console.log('montée', a, b, 'puis 0') : setTimeout(check, 5));
  check();
});
`,
      h.link,
    );
    const client = new WebSocket(`${t.ws}/s/${id}/`);
    await until(() => h.logs.some((l) => l.includes('puis 0')), 'back to 0', 5000);
    // 200 bytes and the 4 bytes of a frame header (126 to 65 535 bytes of payload), counted at once.
    expect(h.logs).toContain('log: montée 0 204 puis 0');
    client.close();
    h.ws.close();
  });
});
