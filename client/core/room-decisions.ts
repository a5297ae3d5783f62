/**
 * The decisions of a room session, as pure functions: who offers to whom, what an incoming offer
 * does to a pair (and whether its sender is hidden), which peers survive a resume, how the session
 * gets back into the room after the server lost it, when a failed pair is rebuilt, and what fresh
 * ICE servers change.
 *
 * `room-session.ts` feeds them what it holds and carries out what they return; nothing here has a
 * socket, a timer or a peer connection, so each rule is a row in `test/room-decisions.test.ts`.
 */
import type { Participant } from "../../shared/protocol/index.ts";
import type { WebRtcRoomErrorCode } from "./errors.ts";
import type { OfferKind } from "./peer-link.ts";
import type { IceServersOrigin } from "./server-connection.ts";

/** A remote to create a peer for, and whether this side makes the offer. */
export interface PeerToAdd {
  participant: Participant;
  initiator: boolean;
}

/**
 * Who offers to whom, on a `connection_list` (sent to the whole room on every join): the newcomer
 * (`newUserId`) offers to every member already present; each member creates one answering peer
 * for the newcomer. So two peers never offer to each other at the same time. Remotes this side
 * already holds (`held`) are left alone.
 *
 * A hidden participant (grant `hidden`) is missing from the lists the others receive, so a later
 * newcomer does not know it is there and will not offer to it. The server therefore tells a
 * hidden member of each later join as if the member itself were new (`newUserId` is its own id,
 * `list` the full room): by the rule above it offers to whoever it does not hold yet, the
 * newcomer, and the newcomer answers an offer from someone it was never told about (see
 * {@link actionOnOffer}). Only one side of each pair offers, as for everyone else.
 */
export function peersToAddOnConnectionList(selfId: string, newUserId: string, list: readonly Participant[], held: ReadonlySet<string>): PeerToAdd[] {
  if (newUserId === selfId) {
    return list.filter((participant) => participant.id !== selfId && !held.has(participant.id)).map((participant) => ({ participant, initiator: true }));
  }
  const newcomer = list.find((participant) => participant.id === newUserId);
  return newcomer && !held.has(newUserId) ? [{ participant: newcomer, initiator: false }] : [];
}

/**
 * The remotes held now that are not in `list`: to drop when the server states who is in the room
 * (`rest_connection_list`, or the list in `resumed`).
 */
export function absentPeers(held: Iterable<string>, list: readonly Participant[]): string[] {
  const present = new Set(list.map((participant) => participant.id));
  return [...held].filter((id) => !present.has(id));
}

/** What this side holds for the remote an offer comes from. */
export type OfferTarget =
  /** No peer for that remote: its `connection_list` entry was never seen. */
  | undefined
  /** A peer that offers itself (an offer to it breaks the protocol; the peer reports it). */
  | { initiator: true }
  /** An answering peer: whether it failed, and how the offer relates to its connection. */
  | { initiator: false; failed: boolean; offerKind: OfferKind };

/** What to do with an incoming offer. */
export type OfferAction =
  /** Create an answering peer for the remote, then feed it the offer. */
  | "answer_new_peer"
  /**
   * The remote is in none of the room's lists this side received: a hidden participant. Create an
   * answering peer that sends it this side's media but stays out of `peers` and the peer events.
   */
  | "answer_hidden_peer"
  /** Feed the offer to the peer as it is. */
  | "signal"
  /** Replace the peer's connection with a new one, then feed it the offer. */
  | "rebuild_then_signal"
  /** Drop the offer. */
  | "ignore";

/**
 * What an offer does to the pair. An offer from a remote this side holds no peer for starts one:
 * a visible one when the remote is `listed` (the room's lists named it), a hidden one otherwise
 * (the server announces every visible member before it can offer, so an unlisted sender is a
 * hidden participant). An offer from a connection the remote already replaced is stale. A
 * renegotiation of a connection that just failed here is ignored: its owner will notice the
 * failure and rebuild. A first offer to a failed peer, or an offer for a new connection (the
 * offering side rebuilt, whatever this side thought of the old one), starts a new connection.
 */
export function actionOnOffer(target: OfferTarget, listed = true): OfferAction {
  if (target === undefined) {
    return listed ? "answer_new_peer" : "answer_hidden_peer";
  }
  if (target.initiator) {
    return "signal";
  }
  switch (target.offerKind) {
    case "stale":
      return "ignore";
    case "renegotiation":
      return target.failed ? "ignore" : "signal";
    case "first":
      return target.failed ? "rebuild_then_signal" : "signal";
    case "new":
      return "rebuild_then_signal";
  }
}

/** Where a room session stands in its stay, as the re-entry decisions need it. */
export type RoomStay =
  /** `join()` is waiting for `joined`. */
  | "joining"
  /** In the room (joined, or reconnecting with the peers up). */
  | "in_room"
  /** Not in a room: not joined yet, or closed. */
  | "outside";

/** How the session gets (back) into the room after the connection restarted or resumed. */
export type ReentryAction =
  /** Keep the peers still in the room, drop the others: nobody noticed the blip. */
  | "keep_present_peers"
  /** Drop every peer and join again as a newcomer, who offers to everyone present. */
  | "rejoin_as_new"
  /** Send `new_user` again: the first `join()` is still waiting (its deadline still runs). */
  | "resend_join"
  /** Nothing to do for this session. */
  | "none";

/**
 * After the connection `restarted` (no session to resume, or the resume was refused): a session
 * in the room joins again as new; one still joining asks again.
 */
export function reentryAfterRestart(stay: RoomStay): ReentryAction {
  switch (stay) {
    case "joining":
      return "resend_join";
    case "in_room":
      return "rejoin_as_new";
    case "outside":
      return "none";
  }
}

/**
 * After the connection `resumed` its session: a session in the room keeps its peers when the
 * server gave the room back (`roomBack`), and joins again as new when it did not (the session
 * came back for its login only). A session still joining lost its `new_user` with the socket, so it
 * asks again.
 */
export function reentryAfterResume(stay: RoomStay, roomBack: boolean): ReentryAction {
  switch (stay) {
    case "joining":
      return "resend_join";
    case "in_room":
      return roomBack ? "keep_present_peers" : "rejoin_as_new";
    case "outside":
      return "none";
  }
}

/** Which `new_user` failed: the first one of `join()`, or the one of a re-entry after a drop. */
export type JoinAttempt = "join" | "rejoin";

/** What a failed `new_user` does to the session. */
export type JoinFailureAction =
  /** Close; `join()` rejects with the code (the stay never began, so no `error` event). */
  | "close"
  /** Report the code as an `error` event, then close: a stay in the room ends. */
  | "report_and_close"
  /** Close with `join_timeout`. */
  | "close_join_timeout"
  /** Nothing: the socket was lost (the recovery asks again) or the connection closed (its close ends the session). */
  | "wait";

/**
 * What a failed `new_user` (code `code`) does. A refusal by the server (the room filled up while
 * this client was away, a rate limit) ends the stay; so does a missing answer.
 */
export function actionOnJoinFailure(attempt: JoinAttempt, code: WebRtcRoomErrorCode): JoinFailureAction {
  if (code === "request_interrupted" || code === "signaling_closed") {
    return "wait";
  }
  if (code === "request_timeout") {
    return "close_join_timeout";
  }
  return attempt === "join" ? "close" : "report_and_close";
}

/** What a pair that just failed needs. */
export type PeerFailureAction =
  /** Rebuild it after a delay (growing with repeated failures). */
  | "schedule_rebuild"
  /** Nothing here: the other side offers, and its new offer rebuilds the pair (see {@link actionOnOffer}). */
  | "wait_for_offer"
  /** A rebuild is already scheduled. */
  | "none";

/**
 * One pair is down: the side that offered rebuilds it after a delay; the other side waits for
 * that offer. Nothing else in the room is touched.
 */
export function actionOnPeerFailed(peer: { initiator: boolean; rebuildScheduled: boolean }): PeerFailureAction {
  if (!peer.initiator) {
    return "wait_for_offer";
  }
  return peer.rebuildScheduled ? "none" : "schedule_rebuild";
}

/**
 * Whether a scheduled rebuild still goes ahead when its delay is over: only for the same peer
 * (not one that left and came back meanwhile) and only while it is still failed (the remote may
 * have rebuilt it first).
 */
export function rebuildStillDue(peer: { stillHeld: boolean; failed: boolean }): boolean {
  return peer.stillHeld && peer.failed;
}

/** First delay before a failed pair is rebuilt; doubles per consecutive failure of the pair. */
export const PEER_REBUILD_BASE_DELAY_MS = 1_000;

/** Largest delay before a failed pair is rebuilt. */
export const PEER_REBUILD_MAX_DELAY_MS = 15_000;

/**
 * The default delay before the offering side rebuilds failed pair number `attempt` (1-based):
 * 0.5–1 s the first time, doubling up to 15 s. Never immediate: when a remote leaves, its
 * connections close a moment before the server's `close_connection` arrives, and that remote must
 * not be offered to again. `random` (in `[0, 1)`) is injectable for tests.
 */
export function peerRebuildDelayMs(attempt: number, random: () => number = Math.random): number {
  const boundMs = Math.min(PEER_REBUILD_MAX_DELAY_MS, PEER_REBUILD_BASE_DELAY_MS * 2 ** (Math.max(1, attempt) - 1));
  return Math.round(boundMs * (0.5 + random() / 2));
}

/**
 * Whether fresh ICE servers go to the live peers (and are announced): yes once in the room,
 * except those of `joined`, which arrive with the join itself (no peer exists yet).
 */
export function appliesIceServers(origin: IceServersOrigin, inRoom: boolean): boolean {
  return inRoom && origin !== "joined";
}
