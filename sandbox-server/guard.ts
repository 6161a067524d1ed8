// Limits on what a learner's WebSocket client sends, enforced the same way whatever the frame:
//  - rate: every client frame (text, binary, continuation, ping, pong, close) takes a token from
//    the session's bucket. ws answers pings by itself and never reports fragments of a message
//    that does not end, so a limit on messages alone let a ping or fragment flood through (8
//    pings in flight got 14 000 pongs per second). The tap counts frames as it decodes them.
//  - time: a frame begun must be complete within frameTimeoutMs, a fragmented message within
//    messageTimeoutMs (a peer trickling one byte per 50 ms, or never sending the last fragment,
//    otherwise holds a socket and ws's buffers for as long as it likes).
// Over either limit: a `limit` event, then a 1008 close; a peer that does not finish its closing
// handshake is cut TERMINATE_AFTER_MS later.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Limits } from './limits.ts';
import type { LimitEvent } from '#protocol';
import { CLOSED_AT, closeOverLimit, LIMITED_SOCKET } from './scenarios/common.ts';
import type { LimitedSocket } from './scenarios/common.ts';
import type { Session, SessionRegistry } from './sessions.ts';
import type { Tap } from './tap/connection-tap.ts';

/** A peer closed for a limit gets this long to answer the close before its socket is destroyed. */
export const TERMINATE_AFTER_MS = 2000;
/** How often the time limits are checked. */
export const SWEEP_MS = 1000;

type Closing = WebSocket & { [CLOSED_AT]?: number };

export interface Guard {
  /** The tap's question before decoding client bytes (see TapOptions.decodeClient). */
  decodeClient(socket: Socket, session: Session): boolean;
  /** Charges `frames` client frames to the session's rate; returns how many were within it. */
  admitClientFrames(session: Session, frames: number): number;
  /** Closes a connection whose frames went past the session's rate. */
  onClientFlood(socket: Socket, session: Session): void;
  /** Checks the time limits of every learner WebSocket (called every SWEEP_MS). */
  sweep(now?: number): void;
  stop(): void;
}

export function createGuard(registry: SessionRegistry, tap: () => Tap, limits: Limits): Guard {
  /** The learner WebSocket of a TCP socket (a session holds a few: a scan beats a map per socket). */
  function wsOf(session: Session, socket: Socket): WebSocket | null {
    for (const ws of session.websockets) if ((ws as unknown as { _socket?: unknown })._socket === socket) return ws;
    return null;
  }

  function closeFor(
    session: Session,
    socket: Socket,
    ws: WebSocket | null,
    fields: Omit<LimitEvent, 'seq' | 't' | 'type' | 'conn'>,
    reason: string,
  ): void {
    const conn = tap().connInfo(socket)?.conn;
    if (ws) {
      closeOverLimit(ws, session, conn, fields, reason);
      return;
    }
    session.limit({ conn, ...fields });
    socket.destroy();
  }

  /** Before decoding a chunk: not for a socket closed for a limit, nor past the session's rate. */
  function decodeClient(socket: Socket, session: Session): boolean {
    if ((socket as LimitedSocket)[LIMITED_SOCKET]) return false;
    if (!session.bucket.empty(Date.now())) return true;
    onClientFlood(socket, session);
    return false;
  }

  /** Takes a token per frame; returns how many frames were within the rate. */
  function admitClientFrames(session: Session, frames: number): number {
    const now = Date.now();
    for (let i = 0; i < frames; i++) if (!session.bucket.take(now)) return i;
    return frames;
  }

  function onClientFlood(socket: Socket, session: Session): void {
    closeFor(
      session,
      socket,
      wsOf(session, socket),
      {
        limit: 'rate',
        action: 'close 1008',
        message: `Trop de trames\u00a0: au plus ${limits.messagesPerSecond} par seconde (rafale de ${limits.messageBurst}), toutes comptées (messages, fragments, ping, pong). Connexion fermée (1008).`,
      },
      'Trop de messages',
    );
  }

  function sweep(now = Date.now()): void {
    for (const ws of registry.webSockets()) {
      const closing = (ws as Closing)[CLOSED_AT];
      if (closing !== undefined) {
        if (ws.readyState !== ws.CLOSED && now - closing >= TERMINATE_AFTER_MS) ws.terminate();
        continue;
      }
      const socket = (ws as unknown as { _socket?: Socket })._socket;
      const pending = socket ? tap().pending(socket) : null;
      if (!socket || !pending) continue;
      const session = tap().connInfo(socket)?.session;
      if (!session) continue;
      // A capped bandwidth makes a long frame slow by itself (network.ts): it gets the time it needs.
      const frameTimeoutMs = limits.frameTimeoutMs + (session.network?.frameGraceMs(limits.maxPayload) ?? 0);
      if (pending.frameSince && now - pending.frameSince >= frameTimeoutMs) {
        closeFor(
          session,
          socket,
          ws,
          {
            limit: 'timeout',
            action: 'close 1008',
            message: `Trame inachevée depuis plus de ${Math.round(frameTimeoutMs / 1000)}\u00a0s\u00a0: une trame commencée doit arriver en entier. Connexion fermée (1008).`,
          },
          'Trame trop lente',
        );
      } else if (pending.messageSince && now - pending.messageSince >= limits.messageTimeoutMs) {
        closeFor(
          session,
          socket,
          ws,
          {
            limit: 'timeout',
            action: 'close 1008',
            message: `Message fragmenté inachevé depuis plus de ${limits.messageTimeoutMs / 1000}\u00a0s (pas de trame finale, FIN = 1). Connexion fermée (1008).`,
          },
          'Message inachevé',
        );
      }
    }
  }

  const timer = setInterval(sweep, SWEEP_MS);
  timer.unref();
  return { decodeClient, admitClientFrames, onClientFlood, sweep, stop: () => clearInterval(timer) };
}
