/**
 * Shared pieces of the mesh tests: a real server on an ephemeral port, headless peers, and a
 * deadline-bound `waitFor` (tests wait for behaviour, never assert on how long it took).
 */
import { startServer, type RunningServer } from "../../server/server.ts";
import type { ServerConfig } from "../../server/config.ts";
import { HeadlessPeer, settleWebRtc, type HeadlessPeerOptions } from "../../client/headless/peers.ts";
import { LOOPBACK_TEST_LIMITS } from "../support/loopback-limits.ts";

/** Generous bound for anything WebRTC does on a busy two-core CI machine. */
export const MESH_DEADLINE_MS = 30_000;

/** Starts the real server on loopback with a free port and no STUN servers. */
export function startTestServer(overrides: Partial<ServerConfig> = {}): Promise<RunningServer> {
  return startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], ...overrides });
}

/** Polls `condition` until it holds; fails with `description` after `timeoutMs`. */
export async function waitFor(description: string, condition: () => boolean, timeoutMs: number = MESH_DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${description}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Joins `count` peers into `room` one after the other (join order decides who offers). */
export async function joinPeers(
  url: string,
  room: string,
  count: number,
  options: Partial<HeadlessPeerOptions> = {},
  prefix = room,
): Promise<HeadlessPeer[]> {
  const peers: HeadlessPeer[] = [];
  for (let index = 0; index < count; index += 1) {
    const peer = new HeadlessPeer({ url, room, username: `${prefix}-${index + 1}`, ...options });
    peers.push(peer);
    await peer.join();
  }
  return peers;
}

/** The id of a joined peer (throws if it has not joined: a test bug). */
export function idOf(peer: HeadlessPeer): string {
  const id = peer.id;
  if (id === undefined) {
    throw new Error(`${peer.username} has not joined`);
  }
  return id;
}

/** True when every peer holds exactly the others, all connected. */
export function isFullMesh(peers: readonly HeadlessPeer[]): boolean {
  return peers.every((peer) => {
    const expected = peers.filter((other) => other !== peer).map(idOf).sort();
    const known = [...peer.session.peers.keys()].sort();
    const connected = peer.connectedPeerIds().sort();
    return JSON.stringify(known) === JSON.stringify(expected) && JSON.stringify(connected) === JSON.stringify(expected);
  });
}

/** Leaves every peer and gives @roamhq/wrtc time to deliver its last close events. */
export async function leaveAll(peers: Iterable<HeadlessPeer>): Promise<void> {
  for (const peer of peers) {
    peer.leave();
  }
  await settleWebRtc();
}
