// The corpus: each program runs as a real Node program and as learner code in the sandbox.
import type { Program } from '../harness.ts';
import { backpressure } from './backpressure.ts';
import { binary } from './binary.ts';
import { broadcast } from './broadcast.ts';
import { closeCodes } from './close-codes.ts';
import { echo } from './echo.ts';
import { fragments } from './fragments.ts';
import { guideAsWritten, guideCorrected } from './guide.ts';
import { handleProtocols } from './handle-protocols.ts';
import { headersEvent } from './headers-event.ts';
import { heartbeat } from './heartbeat.ts';
import { serverPath } from './server-path.ts';
import { sioDisconnect } from './sio-disconnect.ts';
import { sioUpgrade } from './sio-upgrade.ts';
import { upgradeAuth } from './upgrade-auth.ts';
import { sse } from './sse.ts';
import { sioAcks } from './sio-acks.ts';
import { sioBinary } from './sio-binary.ts';
import { sioNamespaceAuth } from './sio-namespace-auth.ts';
import { sioPolling } from './sio-polling.ts';
import { sioRecovery } from './sio-recovery.ts';
import { sioRooms } from './sio-rooms.ts';
import { verifyClient } from './verify-client.ts';

export const CORPUS: Program[] = [
  echo,
  broadcast,
  closeCodes,
  binary,
  fragments,
  heartbeat,
  backpressure,
  verifyClient,
  handleProtocols,
  serverPath,
  headersEvent,
  upgradeAuth,
  sioRooms,
  sioNamespaceAuth,
  sioAcks,
  sioBinary,
  sioPolling,
  sioUpgrade,
  sioDisconnect,
  sioRecovery,
  sse,
  guideAsWritten,
  guideCorrected,
];
