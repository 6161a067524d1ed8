// The ws façade without a sandbox: upgrades given to a HostLink as the sandbox would send them,
// the façade's answers read back from the commands it issues.
import { describe, expect, it } from 'vitest';
import { recordingLink } from './recording-link.test-data.ts';
import { runServerCode } from './run.ts';

/** Runs server code, offers it one upgrade, and returns the commands and console lines. */
async function upgradeWith(options: string, listenError = '') {
  const { link, commands, logs } = recordingLink();
  runServerCode(
    `const { WebSocketServer } = require('ws');
     new WebSocketServer({ port: 8080, ${options} }).on('connection', (ws) => { ${listenError} });`,
    link,
  );
  link.receive({ t: 'upgrade', c: 1, url: '/', headers: {}, protocols: [], remoteAddress: '127.0.0.1', conn: null });
  for (let i = 0; i < 20 && !commands.some((c) => c.t === 'accept'); i++) await new Promise((res) => setTimeout(res, 0));
  const accept = commands.find((c) => c.t === 'accept');
  if (accept?.t !== 'accept') throw new Error('no accept');
  return { accept, link, logs };
}

describe('ws façade', () => {
  it('sends maxPayload with accept as ws reads it (maxPayload | 0, under 1: no limit of its own)', async () => {
    expect((await upgradeWith('maxPayload: 4096')).accept.maxPayload).toBe(4096);
    expect((await upgradeWith("maxPayload: '2048'")).accept.maxPayload).toBe(2048);
    expect((await upgradeWith('maxPayload: 1000.9')).accept.maxPayload).toBe(1000);
    // ws's default, 100 MiB: sent, and the sandbox keeps its own smaller limit.
    expect((await upgradeWith('')).accept.maxPayload).toBe(100 * 1024 * 1024);
    for (const none of ['maxPayload: 0', 'maxPayload: -5', 'maxPayload: 2 ** 32', "maxPayload: 'beaucoup'"]) {
      expect((await upgradeWith(none)).accept, none).not.toHaveProperty('maxPayload');
    }
  });

  it("emits ws's error to a listener, or says in the server console that Node would stop", async () => {
    const error = {
      t: 'ws-error',
      c: 1,
      name: 'RangeError',
      message: 'Max payload size exceeded',
      code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    } as const;
    const heard = await upgradeWith('', "ws.on('error', (e) => console.log(e instanceof RangeError, e.code, e.message));");
    heard.link.receive(error);
    expect(heard.logs).toContain('log: true WS_ERR_UNSUPPORTED_MESSAGE_LENGTH Max payload size exceeded');
    const unheard = await upgradeWith('');
    expect(() => unheard.link.receive(error)).not.toThrow();
    expect(unheard.logs.filter((l) => l.startsWith('error: [bac à sable]'))).toEqual([
      expect.stringContaining(
        'sans écouteur sur une connexion\u00a0: RangeError: Max payload size exceeded (WS_ERR_UNSUPPORTED_MESSAGE_LENGTH)',
      ),
    ]);
  });
});
