// Test harness: an HTTP server whose sockets are tapped as the sandbox does it (inbound bytes via
// prependListener('data'), outbound via a wrapped write), so tests decode real traffic.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Direction } from '#protocol';

export interface Tap {
  server: Server;
  port: number;
  /** Per TCP connection, the bytes in the order the tap saw them. */
  connections: Array<Array<[Direction, Buffer]>>;
  close(): Promise<void>;
}

export async function tappedServer(): Promise<Tap> {
  const server = createServer();
  const connections: Array<Array<[Direction, Buffer]>> = [];
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    const log: Array<[Direction, Buffer]> = [];
    connections.push(log);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.prependListener('data', (d: Buffer) => log.push(['client', Buffer.from(d)]));
    const write = socket.write;
    socket.write = function (this: Socket, data: unknown, ...rest: unknown[]) {
      const enc = typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8';
      log.push(['server', typeof data === 'string' ? Buffer.from(data, enc) : Buffer.from(data as Uint8Array)]);
      return (write as (...a: unknown[]) => boolean).call(this, data, ...rest);
    } as typeof socket.write;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    server,
    port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
