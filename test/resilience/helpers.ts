/**
 * Shared pieces of the resilience tests: a room with one peer behind a cuttable TCP proxy, and
 * recorders for what each session reported.
 */
import type { HeadlessPeer } from "../../client/headless/peers.ts";
import type { MeshSessionEvents } from "../../client/core/index.ts";

/** What one session reported, as short strings that read well in a failed assertion. */
export interface SessionLog {
  /** `peer-joined <username>` / `peer-left <username> (<reason>)` in order. */
  membership: string[];
  /** `<username>: <previous> → <state>` per peer-state event. */
  peerStates: string[];
  /** `reconnected` events. */
  reconnected: Array<MeshSessionEvents["reconnected"]>;
  /** Number of `reconnecting` events (attempts). */
  reconnectAttempts: number;
  /** Error codes. */
  errors: string[];
  /** Application payloads received, as `<username>: <data>`. */
  data: string[];
}

/** Starts recording `peer`'s session events (until it closes). */
export function recordSession(peer: HeadlessPeer): SessionLog {
  const log: SessionLog = { membership: [], peerStates: [], reconnected: [], reconnectAttempts: 0, errors: [], data: [] };
  const session = peer.session;
  session.on("peer-joined", ({ peer: remote }) => log.membership.push(`peer-joined ${remote.username}`));
  session.on("peer-left", ({ peer: remote, reason }) => log.membership.push(`peer-left ${remote.username} (${reason})`));
  session.on("peer-state", ({ peer: remote, state, previous }) => log.peerStates.push(`${remote.username}: ${previous} → ${state}`));
  session.on("reconnected", (event) => log.reconnected.push(event));
  session.on("reconnecting", () => (log.reconnectAttempts += 1));
  session.on("error", ({ code }) => log.errors.push(code));
  session.on("peer-data", ({ peer: remote, data }) => log.data.push(`${remote.username}: ${String(data)}`));
  return log;
}

/** The `RTCPeerConnection` each remote (by username) has on `peer`'s side right now. */
export function connectionsOf(peer: HeadlessPeer): Map<string, RTCPeerConnection | undefined> {
  return new Map([...peer.session.peers.values()].map((remote) => [remote.username, remote.peerConnection]));
}

/** Sleeps `ms`; for pacing a scenario, never for asserting on time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
