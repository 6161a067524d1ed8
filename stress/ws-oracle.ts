// The close code ws itself would send for a client byte stream, found by running ws's own Receiver
// (the parser a `ws` server uses) in-process on the same bytes. Used by the decoder's differential
// tests and by the fuzz to explain a mismatch; never by the server.
import type { Writable } from 'node:stream';
import * as ws from 'ws';

// Both are exported by ws at run time; @types/ws declares neither.
const { PerMessageDeflate, Receiver } = ws as unknown as {
  PerMessageDeflate: new (options: object) => { accept(offers: object[]): void };
  Receiver: new (options: object) => Writable;
};

export interface OracleOptions {
  /** permessage-deflate negotiated (default parameters, context takeover on both sides). */
  deflate: boolean;
  /** The client offered `client_no_context_takeover` (ws accepts it: its inflater is reset after each message). */
  clientNoContextTakeover?: boolean;
  /** ws `maxPayload` (0: none). */
  maxPayload?: number;
  maxFragments?: number;
  maxBufferedChunks?: number;
}

export interface OracleVerdict {
  /** The close code ws sends: its error's status code, or the code of the client's close frame (1005: empty). */
  code: number | null;
  /** ws's error code (e.g. WS_ERR_INVALID_UTF8), or 'close-frame'. */
  reason: string | null;
}

interface WsError extends Error {
  code?: string;
}

/** ws keeps the close code of an error under a private symbol named "status-code". */
function statusOf(err: WsError): number | null {
  for (const s of Object.getOwnPropertySymbols(err)) {
    if (s.description === 'status-code') return (err as unknown as Record<symbol, number>)[s];
  }
  return null;
}

/** Feeds `chunks` to a server-side ws Receiver; resolves once it has handled them all (or failed). */
export function wsVerdict(chunks: Uint8Array[], opts: OracleOptions): Promise<OracleVerdict> {
  const extensions: Record<string, unknown> = {};
  if (opts.deflate) {
    const pmd = new PerMessageDeflate({
      isServer: true,
      maxPayload: opts.maxPayload ?? 0,
      threshold: 0,
    });
    pmd.accept([opts.clientNoContextTakeover ? { client_no_context_takeover: [true] } : {}]);
    extensions['permessage-deflate'] = pmd;
  }
  const receiver = new Receiver({
    isServer: true,
    extensions,
    maxPayload: opts.maxPayload ?? 0,
    maxFragments: opts.maxFragments ?? 0,
    maxBufferedChunks: opts.maxBufferedChunks ?? 0,
  });
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: OracleVerdict) => {
      if (done) return;
      done = true;
      resolve(v);
    };
    receiver.on('error', (err: WsError) => finish({ code: statusOf(err), reason: err.code ?? err.message }));
    receiver.on('conclude', (code: number) => finish({ code, reason: 'close-frame' }));
    // Messages, pings and pongs: ws answers them and goes on.
    receiver.on('message', () => {});
    receiver.on('ping', () => {});
    receiver.on('pong', () => {});
    // One chunk at a time, each once the previous one is handled: as TCP reads reach ws when it is
    // not inflating. (Chunks queued while ws inflates can crash ws 8.23: see ws-receiver-crash.ts.)
    let i = 0;
    const next = () => {
      if (done) return;
      if (i === chunks.length) {
        setImmediate(() => finish({ code: null, reason: null }));
        return;
      }
      // ws unmasks in place: give it a copy.
      receiver.write(Buffer.from(chunks[i++]), next);
    };
    next();
  });
}
