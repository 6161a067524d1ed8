// SessionMonitor writing to a real monitor socket (MonitorSocket over loopback), read by a ws client.
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { WebSocket as Client } from 'ws';
import { acceptMonitor, MonitorSocket } from './monitor-socket.ts';
import { SessionMonitor } from './monitor.ts';

const hello = { session: 'x', endpoints: { http: 'h', ws: 'w', socketIoPath: 's' }, scenarios: [] };

describe('SessionMonitor on a real monitor socket', () => {
  it('frames written together are read as one event per message (7-, 16- and 64-bit lengths, UTF-8)', async () => {
    const server = createServer();
    // Events larger than the default per-event bound, on purpose: the 64-bit length form.
    const m = new SessionMonitor({ backlog: 1000, highWater: 1 << 20, maxEventChars: 1 << 20 });
    const sizes = [1, 100, 125, 126, 1000, 65_535, 65_536, 70_000];
    server.on('upgrade', (req, socket, head) => {
      const monitor = acceptMonitor(req, socket, head, () => {});
      if (!(monitor instanceof MonitorSocket)) throw new Error('refused');
      m.subscribe(monitor, hello);
      for (const n of sizes) m.emit({ type: 'info', message: 'é'.repeat(n >> 1) + 'x'.repeat(n & 1) }, 1);
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const client = new Client(`ws://127.0.0.1:${(server.address() as { port: number }).port}`);
    const got: any[] = [];
    await new Promise<void>((resolve, reject) => {
      client.on('message', (d, isBinary) => {
        expect(isBinary).toBe(false);
        got.push(JSON.parse(d.toString()));
        if (got.length === sizes.length + 1) resolve();
      });
      client.on('error', reject);
    });
    expect(got.map((e) => e.seq)).toEqual(Array.from({ length: sizes.length + 1 }, (_, i) => i + 1));
    expect(got.slice(1).map((e) => e.message.length)).toEqual(sizes.map((n) => (n >> 1) + (n & 1)));
    m.end('shutdown');
    const [code] = await new Promise<[number, Buffer]>((r) => client.once('close', (c, reason) => r([c, reason])));
    expect(code).toBe(1001);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
});
