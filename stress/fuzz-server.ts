// The sandbox server the fuzz runs against, in its own process (so that a crash is seen as one, and
// its memory is measured alone): the production app server (site + sandbox) on 127.0.0.1, port 0,
// with the limits the fuzz passes in FUZZ_LIMITS (JSON). Talks to its parent over IPC: sends
// {type:'ready', port}; answers {type:'rss', gc} with {type:'rss', rss, heapUsed} (after a memory-reducing GC if asked).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ws from 'ws';

// FUZZ_WITHOUT_WS_FIX=1: leave ws 8.23's Receiver unpatched (sandbox-server/ws-receiver-fix.ts skips
// a prototype already marked), to check that the fuzz does find the crash that fix prevents.
if (process.env.FUZZ_WITHOUT_WS_FIX === '1') {
  (ws as unknown as { Receiver: { prototype: Record<symbol, boolean> } }).Receiver.prototype[Symbol.for('atelier.wsReceiverFix')] = true;
}
const { createAppServer } = await import('../sandbox-server/http-server.ts');

const limits = JSON.parse(process.env.FUZZ_LIMITS ?? '{}');
const distDir = mkdtempSync(join(tmpdir(), 'atelier-fuzz-'));
writeFileSync(join(distDir, 'index.html'), '<!doctype html><title>Atelier</title>');
const app = createAppServer({ distDir, limits });
app.server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (app.server.address() as { port: number }).port });
});

process.on('message', (m: { type: string; gc?: boolean }) => {
  if (m.type === 'rss') {
    const gc = (globalThis as { gc?: (o?: object) => void }).gc;
    if (m.gc && gc) {
      gc();
      // V8's memory-reducing collection also gives back the young generation's pages, which a
      // plain GC keeps committed: the RSS then tells what the server really still holds.
      gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    }
    const mem = process.memoryUsage();
    process.send?.({ type: 'rss', rss: mem.rss, heapUsed: mem.heapUsed });
  } else if (m.type === 'stop') {
    app.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  }
});
// The parent went away: do not linger.
process.on('disconnect', () => process.exit(0));
