// `echo` and `echo-deflate`: every message comes back with its type (text stays text, binary
// stays binary). Subprotocols: the first of the client's offers among `comments` and `chat` is
// accepted, as in the handshake lesson; other offers get no Sec-WebSocket-Protocol (the browser
// then fails the connection, which is the lesson's point). `echo-deflate` enables
// permessage-deflate with no threshold, so every data frame is compressed (RSV1 set).
import type { RawData, WebSocket } from 'ws';
import { createWss, trackLearnerSocket } from './common.ts';
import type { ScenarioEnv, WsScenario } from './common.ts';

export const SUBPROTOCOLS = ['comments', 'chat'];

export function chooseSubprotocol(offered: Set<string>): string | false {
  for (const p of offered) if (SUBPROTOCOLS.includes(p)) return p;
  return false;
}

/** One listener for every echo socket (`this` is the socket): no closure kept per connection. */
function echoBack(this: WebSocket, data: RawData, isBinary: boolean): void {
  if (this.readyState === this.OPEN) this.send(data as Buffer, { binary: isBinary });
}

export function createEchoScenario(env: ScenarioEnv, deflate: boolean): WsScenario {
  const wss = createWss(env.limits, {
    handleProtocols: chooseSubprotocol,
    perMessageDeflate: deflate ? { threshold: 0, concurrencyLimit: 4 } : false,
  });
  return {
    name: deflate ? 'echo-deflate' : 'echo',
    handleUpgrade(req, socket, head, { session }) {
      wss.handleUpgrade(req, socket, head, (ws) => {
        trackLearnerSocket(ws, req, session, env, echoBack);
      });
    },
    close: () => wss.close(),
  };
}
