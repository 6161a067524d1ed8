// The attacks, in the order the suite runs them (the crashes and defects first).
import type { Attack } from '../context.ts';
import { manyIpBacklogs } from './budget.ts';
import { longPollFlood, sseFlood } from './feeds.ts';
import { oversizedBodies, oversizedFrames } from './oversized.ts';
import { neverReadingClients, neverReadingMonitors } from './readers.ts';
import { pipelining, sessionFlood, sessionLockout } from './sessions.ts';
import { frameTrickle, idleConnections, slowlorisHeads, slowlorisUpgrades } from './slow.ts';
import {
  engineIoHandshakeFlood,
  malformedEngineIo,
  socketIoClientQuery,
  socketIoConnectFlood,
  socketIoPipelinedHandshakes,
  socketIoPollingNonReader,
  socketIoRoomsChurn,
} from './socket-io.ts';
import { staticRedirect } from './static.ts';
import { fragmentFlood, messageFlood, pingFlood, pongFlood, unfinishedFragments } from './ws-floods.ts';

export const ATTACKS: Attack[] = [
  socketIoClientQuery,
  unfinishedFragments,
  sessionLockout,
  pipelining,
  pingFlood,
  pongFlood,
  fragmentFlood,
  messageFlood,
  slowlorisHeads,
  slowlorisUpgrades,
  frameTrickle,
  idleConnections,
  sessionFlood,
  engineIoHandshakeFlood,
  sseFlood,
  longPollFlood,
  oversizedFrames,
  oversizedBodies,
  neverReadingMonitors,
  neverReadingClients,
  malformedEngineIo,
  socketIoRoomsChurn,
  socketIoConnectFlood,
  socketIoPollingNonReader,
  socketIoPipelinedHandshakes,
  staticRedirect,
  // Last: its hundreds of full sessions stay (30 min idle expiry) and would weigh on later rows.
  manyIpBacklogs,
];
