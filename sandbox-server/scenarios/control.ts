// `control`: the learner drives the server with JSON text commands, to see control frames,
// fragmentation, large binary frames, close codes and an abrupt TCP drop on the wire:
//   {"cmd":"ping","payload":"abc"}                 server sends a ping (the browser answers pong)
//   {"cmd":"fragment","text":"…","frames":3}       one text message in 3 frames (FIN only on the last)
//   {"cmd":"fragment",…,"split":"bytes"}           the same, cut at byte boundaries (a frame may end inside a character)
//   {"cmd":"binary","size":300}                    one binary message of 300 bytes (0x00, 0x01, …)
//   {"cmd":"close","code":4001,"reason":"…"}       closing handshake with that code and reason
//   {"cmd":"drop"}                                 TCP connection destroyed, no close frame (1006)
// Each action is announced by an `info` event; a bad command gets {"error":"…"} back and an info event.
import type { WebSocket } from 'ws';
import type { Session } from '../sessions.ts';
import { createWss, flushWrites, trackLearnerSocket } from './common.ts';
import type { LearnerMessageHandler } from './common.ts';
import type { ScenarioEnv, WsScenario } from './common.ts';

const MAX_FRAMES = 64;
const MAX_CONTROL_PAYLOAD = 125;
const MAX_REASON = 123;
export const CONTROL_COMMANDS = ['ping', 'fragment', 'binary', 'close', 'drop'] as const;

type Command = Record<string, unknown>;

export function createControlScenario(env: ScenarioEnv): WsScenario {
  const wss = createWss(env.limits);
  return {
    name: 'control',
    handleUpgrade(req, socket, head, { session }) {
      wss.handleUpgrade(req, socket, head, (ws) => {
        const ctx: CommandContext = { session, conn: undefined, maxPayload: env.limits.maxPayload };
        ctx.conn = trackLearnerSocket(ws, req, session, env, commandHandler(ctx));
      });
    },
    close: () => wss.close(),
  };
}

interface CommandContext {
  session: Session;
  conn: string | undefined;
  maxPayload: number;
}

// The handler is made here, not in the upgrade callback, so it does not keep the request alive.
function commandHandler(ctx: CommandContext): LearnerMessageHandler {
  return function (data, isBinary) {
    if (this.readyState !== this.OPEN) return;
    const error = run(this, ctx.session, ctx.conn, isBinary ? null : data.toString(), ctx.maxPayload);
    if (error) {
      ctx.session.info(`Commande refusée\u00a0: ${error}`, ctx.conn);
      this.send(JSON.stringify({ error }));
    }
  };
}

/** Runs one command; returns a French error message for a bad one. */
function run(ws: WebSocket, session: Session, conn: string | undefined, text: string | null, maxPayload: number): string | null {
  if (text === null) return 'les commandes sont des messages texte JSON, pas du binaire.';
  let command: Command;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error();
    command = parsed as Command;
  } catch {
    return 'JSON invalide. Exemple\u00a0: {"cmd":"ping","payload":"abc"}';
  }
  switch (command.cmd) {
    case 'ping': {
      const payload = command.payload === undefined ? '' : command.payload;
      if (typeof payload !== 'string') return '«\u00a0payload\u00a0» doit être une chaîne.';
      if (Buffer.byteLength(payload) > MAX_CONTROL_PAYLOAD)
        return `«\u00a0payload\u00a0» dépasse ${MAX_CONTROL_PAYLOAD} octets (limite des trames de contrôle).`;
      session.info(
        `Le serveur envoie un ping avec la charge «\u00a0${payload}\u00a0»\u00a0; le client doit répondre par un pong identique.`,
        conn,
      );
      ws.ping(payload);
      return null;
    }
    case 'fragment': {
      const { text: body, frames } = command;
      if (typeof body !== 'string' || body.length === 0) return '«\u00a0text\u00a0» doit être une chaîne non vide.';
      if (!Number.isInteger(frames) || (frames as number) < 1 || (frames as number) > MAX_FRAMES) {
        return `«\u00a0frames\u00a0» doit être un entier entre 1 et ${MAX_FRAMES}.`;
      }
      const split = command.split === undefined ? 'characters' : command.split;
      if (split !== 'characters' && split !== 'bytes')
        return '«\u00a0split\u00a0» vaut «\u00a0characters\u00a0» (par défaut) ou «\u00a0bytes\u00a0».';
      const bytes = Buffer.from(body);
      if (bytes.length > maxPayload) return `«\u00a0text\u00a0» dépasse ${maxPayload} octets.`;
      const parts: Array<string | Buffer> = split === 'bytes' ? splitBytes(bytes, frames as number) : splitUtf8(body, frames as number);
      session.info(
        `Le serveur envoie «\u00a0${body}\u00a0» en ${parts.length} trame(s)${split === 'bytes' ? ' coupées aux octets' : ''}\u00a0: text puis continuation, FIN sur la dernière.`,
        conn,
      );
      parts.forEach((part, i) => {
        ws.send(part, { binary: false, fin: i === parts.length - 1 });
      });
      return null;
    }
    case 'binary': {
      const size = command.size;
      if (!Number.isInteger(size) || (size as number) < 0 || (size as number) > maxPayload) {
        return `«\u00a0size\u00a0» doit être un entier entre 0 et ${maxPayload}.`;
      }
      const data = Buffer.alloc(size as number);
      for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
      session.info(`Le serveur envoie un message binaire de ${data.length} octets.`, conn);
      ws.send(data, { binary: true });
      return null;
    }
    case 'close': {
      const code = command.code === undefined ? 1000 : command.code;
      const reason = command.reason === undefined ? '' : command.reason;
      if (!Number.isInteger(code) || !(code === 1000 || ((code as number) >= 3000 && (code as number) <= 4999))) {
        return '«\u00a0code\u00a0» doit valoir 1000 ou être entre 3000 et 4999.';
      }
      if (typeof reason !== 'string' || Buffer.byteLength(reason) > MAX_REASON)
        return `«\u00a0reason\u00a0» doit être une chaîne d’au plus ${MAX_REASON} octets.`;
      session.info(`Le serveur ferme la connexion avec le code ${code}${reason ? ` et la raison «\u00a0${reason}\u00a0»` : ''}.`, conn);
      ws.close(code as number, reason);
      return null;
    }
    case 'drop':
      session.info('Le serveur coupe la connexion TCP sans trame de fermeture\u00a0: le navigateur verra le code 1006.', conn);
      // What earlier commands of the same read sent is still corked: send it, then cut.
      flushWrites(ws);
      ws.terminate();
      return null;
    default:
      return `commande inconnue${typeof command.cmd === 'string' ? ` «\u00a0${command.cmd}\u00a0»` : ''}. Commandes\u00a0: ${CONTROL_COMMANDS.join(', ')}.`;
  }
}

/**
 * Splits bytes into `n` non-empty parts of nearly equal sizes, the first ones a byte longer, cut
 * wherever that falls, inside a UTF-8 sequence too (fewer parts if there are fewer bytes).
 */
export function splitBytes(bytes: Buffer, n: number): Buffer[] {
  const count = Math.min(n, bytes.length);
  const parts: Buffer[] = [];
  for (let i = 0, at = 0; i < count; i++) {
    const size = Math.floor(bytes.length / count) + (i < bytes.length % count ? 1 : 0);
    parts.push(bytes.subarray(at, at + size));
    at += size;
  }
  return parts;
}

/** Splits text into `n` non-empty parts without cutting a character (fewer parts if the text is short). */
export function splitUtf8(text: string, n: number): string[] {
  const chars = [...text];
  const count = Math.min(n, chars.length);
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(chars.slice(Math.floor((i * chars.length) / count), Math.floor(((i + 1) * chars.length) / count)).join(''));
  }
  return parts;
}
