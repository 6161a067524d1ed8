// Works around a crash of ws 8.23 that any client can trigger when permessage-deflate is on (the
// echo-deflate scenario, Socket.IO over WebSocket with compression): TCP chunks that reach ws
// while it inflates a message queue in its Receiver (a Writable stream); when a frame then fails
// in ws's data phase (e.g. a close frame with code 1005), the next queued chunk is still handed
// to the Receiver, which reads it as the failed frame's payload without a mask: a TypeError thrown
// in a zlib callback, which takes the whole process down. Found by our fuzz generator; the repro
// is stress/ws-receiver-crash.ts (a bare ws server, no sandbox code).
//
// The fix: a Receiver that has failed takes no more bytes (ws closes the connection anyway; what
// it would have parsed is discarded, as after any other protocol error). Applied once, to ws's
// own Receiver class, on import.
import * as ws from 'ws';

type Write = (chunk: Buffer, encoding: BufferEncoding, cb: (err?: Error | null) => void) => void;
const PATCHED = Symbol.for('atelier.wsReceiverFix');
// Receiver is exported by ws (not declared by @types/ws).
const proto = (ws as unknown as { Receiver: { prototype: { _write: Write; _errored?: boolean; [PATCHED]?: true } } }).Receiver.prototype;

if (!proto[PATCHED]) {
  const write = proto._write;
  proto._write = function (this: { _errored?: boolean }, chunk, encoding, cb) {
    if (this._errored) {
      cb();
      return;
    }
    write.call(this, chunk, encoding, cb);
  };
  proto[PATCHED] = true;
}

/** True once the fix is in place (for tests). */
export const wsReceiverFixed = proto[PATCHED] === true;
