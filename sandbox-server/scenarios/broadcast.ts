// `broadcast`: each message goes to every `broadcast` connection of the same session, the sender
// included (so a learner with one tab sees the fan-out too), with its type kept. Sessions never mix.
import type { RawData, WebSocket } from 'ws';
import { createWss, trackLearnerSocket } from './common.ts';
import type { ScenarioEnv, WsScenario } from './common.ts';

const MEMBERS = Symbol('broadcastMembers');
type Member = WebSocket & { [MEMBERS]: Set<WebSocket> };

// Shared listeners (`this` is the socket): nothing made per connection keeps the request alive.
function forward(this: WebSocket, data: RawData, isBinary: boolean): void {
  for (const peer of (this as Member)[MEMBERS]) if (peer.readyState === peer.OPEN) peer.send(data as Buffer, { binary: isBinary });
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
        members.add(ws);
        ws.on('close', leave);
        trackLearnerSocket(ws, req, session, env, forward);
      });
    },
    close: () => wss.close(),
  };
}
