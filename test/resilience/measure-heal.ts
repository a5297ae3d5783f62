/**
 * Measures how long the mesh takes to heal, with the default reconnect policy:
 *
 * - **2 s signaling cut**: one peer of a 3-peer room reaches the server through a TCP proxy that
 *   is cut for 2 s (connections reset, new ones refused). Measured from the end of the cut to the
 *   `reconnected` event (`resume` answered; the queue flushed). Its peer connections never go down.
 * - **server restart**: a 4-peer room; the server is closed (1012 to every client) and a new one
 *   started on the same port at once. Measured from `close()` to every pair being connected again
 *   on the new server (every client resumed-failed, joined as new, and the mesh formed again).
 *   The clients go through `tcp-proxy.ts` only so that the port can be bound again at once.
 *
 * `npx tsx test/resilience/measure-heal.ts [runs]` prints JSON. Timing goals belong here, not in
 * the tests, which only assert behaviour.
 */
import { startServer, type RunningServer } from "../../server/server.ts";
import { HeadlessPeer, distribution, settleWebRtc } from "../../client/headless/peers.ts";
import { isFullMesh, joinPeers, waitFor } from "../mesh/helpers.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";

const RUNS = Number(process.argv[2] ?? 5);
const CUT_MS = 2_000;
const RESTART_ROOM_SIZE = 4;

function leaveAll(peers: readonly HeadlessPeer[]): Promise<void> {
  for (const peer of peers) {
    peer.leave();
  }
  return settleWebRtc();
}

async function measureCut(server: RunningServer, run: number): Promise<{ healMs: number; attempts: number }> {
  const room = `heal-cut-${run}`;
  const witnesses = await joinPeers(server.wsUrl, room, 2);
  const proxy = await startTcpProxy({ port: server.port });
  const [victim] = await joinPeers(proxy.wsUrl, room, 1, {}, `${room}-victim`);
  if (!victim) {
    throw new Error("join failed");
  }
  const everyone = [...witnesses, victim];
  await waitFor("full mesh", () => isFullMesh(everyone));
  let attempts = 0;
  victim.session.on("reconnecting", () => (attempts += 1));
  const reconnected = new Promise<{ atMs: number; resumed: boolean }>((resolve) => {
    victim.session.once("reconnected", ({ resumed }) => resolve({ atMs: performance.now(), resumed }));
  });
  await proxy.cut(CUT_MS);
  const cutEndedAtMs = performance.now();
  const { atMs, resumed } = await reconnected;
  if (!resumed) {
    throw new Error("the victim did not resume");
  }
  await leaveAll(everyone);
  await proxy.close();
  return { healMs: atMs - cutEndedAtMs, attempts };
}

async function measureRestart(port: number, run: number): Promise<{ wholeAfterCloseMs: number; wholeAfterListenMs: number; port: number }> {
  let server = await startServer({ host: "127.0.0.1", port, iceServers: [] });
  // Through the proxy, so that the old server's port is not held in TIME_WAIT (see tcp-proxy.ts).
  const proxy = await startTcpProxy({ port: server.port });
  const peers = await joinPeers(proxy.wsUrl, `heal-restart-${run}`, RESTART_ROOM_SIZE);
  await waitFor("full mesh", () => isFullMesh(peers));
  const oldIds = new Set(peers.map((peer) => peer.id));
  const closedAtMs = performance.now();
  await server.close();
  server = await startServer({ host: "127.0.0.1", port: server.port, iceServers: [] });
  const listeningAtMs = performance.now();
  await waitFor("whole again on the new server", () => peers.every((peer) => !oldIds.has(peer.id)) && isFullMesh(peers));
  const wholeAtMs = performance.now();
  await leaveAll(peers);
  await server.close();
  await proxy.close();
  return { wholeAfterCloseMs: wholeAtMs - closedAtMs, wholeAfterListenMs: wholeAtMs - listeningAtMs, port: server.port };
}

const round = (value: number): number => Math.round(value);

const cutServer = await startServer({ host: "127.0.0.1", port: 0, iceServers: [] });
const cuts: Array<{ healMs: number; attempts: number }> = [];
for (let run = 1; run <= RUNS; run += 1) {
  cuts.push(await measureCut(cutServer, run));
}
await cutServer.close();

const restarts: Array<{ wholeAfterCloseMs: number; wholeAfterListenMs: number }> = [];
let port = 0;
for (let run = 1; run <= RUNS; run += 1) {
  const result = await measureRestart(port, run);
  port = result.port;
  restarts.push(result);
}

console.log(JSON.stringify({
  runs: RUNS,
  signalingCut2s: {
    description: "from the end of a 2 s cut to `reconnected` (resumed, same id); peer connections stay up throughout",
    healMs: distribution(cuts.map((cut) => cut.healMs)),
    perRun: cuts.map((cut) => ({ healMs: round(cut.healMs), attempts: cut.attempts })),
  },
  serverRestart: {
    description: `${RESTART_ROOM_SIZE}-peer room; server closed and restarted at once on the same port; until every pair is connected again`,
    wholeAfterCloseMs: distribution(restarts.map((restart) => restart.wholeAfterCloseMs)),
    wholeAfterListenMs: distribution(restarts.map((restart) => restart.wholeAfterListenMs)),
    perRun: restarts.map((restart) => ({ wholeAfterCloseMs: round(restart.wholeAfterCloseMs), wholeAfterListenMs: round(restart.wholeAfterListenMs) })),
  },
}, null, 2));
// @roamhq/wrtc must not go through Node's normal teardown (see docs/architecture-mesh.md).
process.exit(0);
