// `broadcast`: each message goes to every `broadcast` connection of the same session, the sender
// included (so a learner with one tab sees the fan-out too), with its type kept. Sessions never mix.
import type { WebSocket } from 'ws';
import { createWss, trackLearnerSocket } from './common.ts';
import type { ScenarioEnv, WsScenario } from './common.ts';

// Listeners are made here, not in the upgrade callback, so they do not keep the request alive.
function join(ws: WebSocket, members: Set<WebSocket>): void {
  members.add(ws);
  ws.on('close', () => members.delete(ws));
  ws.on('message', (data, isBinary) => {
    for (const peer of members) if (peer.readyState === peer.OPEN) peer.send(data as Buffer, { binary: isBinary });
  });
}

export function createBroadcastScenario(env: ScenarioEnv): WsScenario {
  const wss = createWss(env.limits);
  return {
    name: 'broadcast',
    handleUpgrade(req, socket, head, { session }) {
      const members = session.getState('broadcast', () => new Set<WebSocket>());
      wss.handleUpgrade(req, socket, head, (ws) => {
        trackLearnerSocket(ws, req, session, env);
        join(ws, members);
      });
    },
    close: () => wss.close(),
  };
}
