// `broadcast`: each message goes to every `broadcast` connection of the same session, the sender
// included (so a learner with one tab sees the fan-out too), with its type kept. Sessions never mix.
import type { RawData, WebSocket } from 'ws';
import { checkReader, createWss, trackLearnerSocket } from './common.ts';
import type { Limits } from '../limits.ts';
import type { Session } from '../sessions.ts';
import type { ScenarioEnv, WsScenario } from './common.ts';

const MEMBERS = Symbol('broadcastMembers');
const SESSION = Symbol('broadcastSession');
const LIMITS = Symbol('broadcastLimits');
type Member = WebSocket & { [MEMBERS]: Set<WebSocket>; [SESSION]: Session; [LIMITS]: Limits };

// Shared listeners (`this` is the socket): nothing made per connection keeps the request alive.
function forward(this: WebSocket, data: RawData, isBinary: boolean): void {
  const m = this as Member;
  for (const peer of m[MEMBERS]) {
    // A member that does not read is cut rather than sent to without bound.
    if (peer.readyState === peer.OPEN && checkReader(peer, m[SESSION], m[LIMITS])) peer.send(data as Buffer, { binary: isBinary });
  }
}

function leave(this: WebSocket): void {
  (this as Member)[MEMBERS].delete(this);
}

export function createBroadcastScenario(env: ScenarioEnv): WsScenario {
  const wss = createWss(env.limits);
  return {
    name: 'broadcast',
    handleUpgrade(req, socket, head, { session }) {
      const members = session.getState('broadcast', () => new Set<WebSocket>());
      wss.handleUpgrade(req, socket, head, (ws) => {
        (ws as Member)[MEMBERS] = members;
        (ws as Member)[SESSION] = session;
        (ws as Member)[LIMITS] = env.limits;
        members.add(ws);
        ws.on('close', leave);
        trackLearnerSocket(ws, req, session, env, forward);
      });
    },
    close: () => wss.close(),
  };
}
