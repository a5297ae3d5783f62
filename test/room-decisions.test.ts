/**
 * Table tests of the room session's decisions (client/core/room-decisions.ts): who offers to whom
 * (a hidden participant included), what an offer does to a pair, what survives a resume, how the
 * session gets back in after a restart, when a failed pair is rebuilt, and what fresh ICE servers
 * change. Pure functions: no server, no socket, no timer.
 */
import { describe, expect, it } from "vitest";
import type { Participant } from "../shared/protocol/index.ts";
import {
  PEER_REBUILD_BASE_DELAY_MS,
  PEER_REBUILD_MAX_DELAY_MS,
  absentPeers,
  actionOnJoinFailure,
  actionOnOffer,
  actionOnPeerFailed,
  appliesIceServers,
  peerRebuildDelayMs,
  peersToAddOnConnectionList,
  rebuildStillDue,
  reentryAfterRestart,
  reentryAfterResume,
  type JoinAttempt,
  type JoinFailureAction,
  type OfferAction,
  type OfferTarget,
  type ReentryAction,
  type RoomStay,
} from "../client/core/room-decisions.ts";
import type { WebRtcRoomErrorCode } from "../client/core/errors.ts";
import type { IceServersOrigin } from "../client/core/server-connection.ts";

const ALICE: Participant = { id: "a", username: "alice" };
const BOB: Participant = { id: "b", username: "bob" };
const CAROL: Participant = { id: "c", username: "carol" };

describe("peersToAddOnConnectionList (who offers to whom)", () => {
  const rows: Array<{ name: string; selfId: string; newUserId: string; list: Participant[]; held: string[]; expected: Array<[string, boolean]> }> = [
    { name: "the newcomer offers to every member already present", selfId: "c", newUserId: "c", list: [ALICE, BOB, CAROL], held: [], expected: [["a", true], ["b", true]] },
    { name: "the newcomer skips members it already holds", selfId: "c", newUserId: "c", list: [ALICE, BOB, CAROL], held: ["a"], expected: [["b", true]] },
    { name: "the newcomer alone in the room adds nobody", selfId: "a", newUserId: "a", list: [ALICE], held: [], expected: [] },
    { name: "a member answers the newcomer", selfId: "a", newUserId: "c", list: [ALICE, BOB, CAROL], held: ["b"], expected: [["c", false]] },
    { name: "a member that already holds the newcomer adds nobody", selfId: "a", newUserId: "c", list: [ALICE, CAROL], held: ["c"], expected: [] },
    { name: "a newcomer missing from the list is not added", selfId: "a", newUserId: "z", list: [ALICE, BOB], held: [], expected: [] },
    // The server tells a hidden member (Alice here) of a later join with its own id as newUserId and the full list.
    { name: "a hidden member told of a later join offers to the newcomer only", selfId: "a", newUserId: "a", list: [ALICE, BOB, CAROL], held: ["b"], expected: [["c", true]] },
    { name: "a hidden member that already holds every member adds nobody", selfId: "a", newUserId: "a", list: [ALICE, BOB, CAROL], held: ["b", "c"], expected: [] },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const added = peersToAddOnConnectionList(row.selfId, row.newUserId, row.list, new Set(row.held));
      expect(added.map(({ participant, initiator }) => [participant.id, initiator])).toEqual(row.expected);
    });
  }
});

describe("absentPeers (what an authoritative list drops)", () => {
  const rows: Array<{ held: string[]; list: Participant[]; expected: string[] }> = [
    { held: ["a", "b"], list: [ALICE, BOB, CAROL], expected: [] },
    { held: ["a", "b", "c"], list: [ALICE], expected: ["b", "c"] },
    { held: [], list: [ALICE], expected: [] },
    { held: ["a"], list: [], expected: ["a"] },
  ];
  for (const row of rows) {
    it(`holding [${row.held.join(", ")}] with the room at [${row.list.map((p) => p.id).join(", ")}] drops [${row.expected.join(", ")}]`, () => {
      expect(absentPeers(row.held, row.list)).toEqual(row.expected);
    });
  }
});

describe("actionOnOffer (what an incoming offer does to the pair)", () => {
  const rows: Array<{ name: string; target: OfferTarget; expected: OfferAction }> = [
    { name: "an offer from an unknown remote creates an answering peer", target: undefined, expected: "answer_new_peer" },
    { name: "an offer to a peer that offers itself goes to it (it reports the breach)", target: { initiator: true }, expected: "signal" },
    { name: "a first offer to a healthy answering peer is applied", target: { initiator: false, failed: false, offerKind: "first" }, expected: "signal" },
    { name: "a first offer to a failed answering peer rebuilds it", target: { initiator: false, failed: true, offerKind: "first" }, expected: "rebuild_then_signal" },
    { name: "a renegotiation of a healthy connection is applied", target: { initiator: false, failed: false, offerKind: "renegotiation" }, expected: "signal" },
    { name: "a renegotiation of a connection that failed here is ignored", target: { initiator: false, failed: true, offerKind: "renegotiation" }, expected: "ignore" },
    { name: "an offer for a new connection rebuilds a healthy peer", target: { initiator: false, failed: false, offerKind: "new" }, expected: "rebuild_then_signal" },
    { name: "an offer for a new connection rebuilds a failed peer", target: { initiator: false, failed: true, offerKind: "new" }, expected: "rebuild_then_signal" },
    { name: "a stale offer is ignored", target: { initiator: false, failed: false, offerKind: "stale" }, expected: "ignore" },
    { name: "a stale offer to a failed peer is ignored", target: { initiator: false, failed: true, offerKind: "stale" }, expected: "ignore" },
  ];
  for (const row of rows) {
    it(row.name, () => {
      expect(actionOnOffer(row.target)).toBe(row.expected);
    });
  }

  const hiddenRows: Array<{ name: string; target: OfferTarget; listed: boolean; expected: OfferAction }> = [
    { name: "an offer from a remote the room's list names creates a visible answering peer", target: undefined, listed: true, expected: "answer_new_peer" },
    { name: "an offer from a remote no list named (a hidden participant) creates a hidden answering peer", target: undefined, listed: false, expected: "answer_hidden_peer" },
    { name: "a renegotiation from a hidden participant already held is applied", target: { initiator: false, failed: false, offerKind: "renegotiation" }, listed: false, expected: "signal" },
    { name: "a new connection from a hidden participant already held rebuilds its peer", target: { initiator: false, failed: true, offerKind: "new" }, listed: false, expected: "rebuild_then_signal" },
  ];
  for (const row of hiddenRows) {
    it(row.name, () => {
      expect(actionOnOffer(row.target, row.listed)).toBe(row.expected);
    });
  }
});

describe("re-entry after the connection restarted or resumed", () => {
  const restartRows: Array<{ stay: RoomStay; expected: ReentryAction }> = [
    { stay: "joining", expected: "resend_join" },
    { stay: "in_room", expected: "rejoin_as_new" },
    { stay: "outside", expected: "none" },
  ];
  for (const row of restartRows) {
    it(`a restart of a session ${row.stay} leads to ${row.expected}`, () => {
      expect(reentryAfterRestart(row.stay)).toBe(row.expected);
    });
  }

  const resumeRows: Array<{ stay: RoomStay; roomBack: boolean; expected: ReentryAction }> = [
    { stay: "in_room", roomBack: true, expected: "keep_present_peers" },
    { stay: "in_room", roomBack: false, expected: "rejoin_as_new" },
    { stay: "joining", roomBack: false, expected: "resend_join" },
    { stay: "joining", roomBack: true, expected: "resend_join" },
    { stay: "outside", roomBack: false, expected: "none" },
    { stay: "outside", roomBack: true, expected: "none" },
  ];
  for (const row of resumeRows) {
    it(`a resume of a session ${row.stay} ${row.roomBack ? "with" : "without"} its room leads to ${row.expected}`, () => {
      expect(reentryAfterResume(row.stay, row.roomBack)).toBe(row.expected);
    });
  }
});

describe("actionOnJoinFailure (what a failed new_user does)", () => {
  const rows: Array<{ attempt: JoinAttempt; code: WebRtcRoomErrorCode; expected: JoinFailureAction }> = [
    { attempt: "join", code: "room_full", expected: "close" },
    { attempt: "join", code: "rate_limited", expected: "close" },
    { attempt: "join", code: "request_timeout", expected: "close_join_timeout" },
    { attempt: "join", code: "request_interrupted", expected: "wait" },
    { attempt: "join", code: "signaling_closed", expected: "wait" },
    { attempt: "rejoin", code: "room_full", expected: "report_and_close" },
    { attempt: "rejoin", code: "unsupported_version", expected: "report_and_close" },
    { attempt: "rejoin", code: "request_timeout", expected: "close_join_timeout" },
    { attempt: "rejoin", code: "request_interrupted", expected: "wait" },
    { attempt: "rejoin", code: "signaling_closed", expected: "wait" },
  ];
  for (const row of rows) {
    it(`a ${row.attempt} failing with ${row.code} leads to ${row.expected}`, () => {
      expect(actionOnJoinFailure(row.attempt, row.code)).toBe(row.expected);
    });
  }
});

describe("failed pairs", () => {
  it("the offering side schedules a rebuild when none is scheduled", () => {
    expect(actionOnPeerFailed({ initiator: true, rebuildScheduled: false })).toBe("schedule_rebuild");
  });
  it("the offering side does nothing more when a rebuild is already scheduled", () => {
    expect(actionOnPeerFailed({ initiator: true, rebuildScheduled: true })).toBe("none");
  });
  it("the answering side waits for the offer of the rebuilt pair", () => {
    expect(actionOnPeerFailed({ initiator: false, rebuildScheduled: false })).toBe("wait_for_offer");
  });

  const dueRows: Array<{ stillHeld: boolean; failed: boolean; expected: boolean }> = [
    { stillHeld: true, failed: true, expected: true },
    { stillHeld: true, failed: false, expected: false },
    { stillHeld: false, failed: true, expected: false },
    { stillHeld: false, failed: false, expected: false },
  ];
  for (const row of dueRows) {
    it(`a scheduled rebuild ${row.expected ? "goes ahead" : "is dropped"} when the peer is ${row.stillHeld ? "still held" : "gone"} and ${row.failed ? "failed" : "healthy"}`, () => {
      expect(rebuildStillDue(row)).toBe(row.expected);
    });
  }

  const delayRows: Array<{ attempt: number; random: number; expectedMs: number }> = [
    { attempt: 1, random: 0, expectedMs: PEER_REBUILD_BASE_DELAY_MS / 2 },
    { attempt: 1, random: 0.999_999, expectedMs: PEER_REBUILD_BASE_DELAY_MS },
    { attempt: 2, random: 0, expectedMs: PEER_REBUILD_BASE_DELAY_MS },
    { attempt: 3, random: 0, expectedMs: 2 * PEER_REBUILD_BASE_DELAY_MS },
    { attempt: 0, random: 0, expectedMs: PEER_REBUILD_BASE_DELAY_MS / 2 },
    { attempt: 50, random: 0, expectedMs: PEER_REBUILD_MAX_DELAY_MS / 2 },
    { attempt: 50, random: 0.999_999, expectedMs: PEER_REBUILD_MAX_DELAY_MS },
  ];
  for (const row of delayRows) {
    it(`rebuild attempt ${row.attempt} with random ${row.random} waits ${row.expectedMs} ms`, () => {
      expect(peerRebuildDelayMs(row.attempt, () => row.random)).toBe(row.expectedMs);
    });
  }
});

describe("appliesIceServers (what fresh ICE servers change)", () => {
  const rows: Array<{ origin: IceServersOrigin; inRoom: boolean; expected: boolean }> = [
    { origin: "refresh", inRoom: true, expected: true },
    { origin: "resumed", inRoom: true, expected: true },
    { origin: "login", inRoom: true, expected: true },
    { origin: "joined", inRoom: true, expected: false },
    { origin: "refresh", inRoom: false, expected: false },
    { origin: "resumed", inRoom: false, expected: false },
    { origin: "login", inRoom: false, expected: false },
  ];
  for (const row of rows) {
    it(`servers from ${row.origin} ${row.expected ? "are" : "are not"} applied to the peers ${row.inRoom ? "in the room" : "outside a room"}`, () => {
      expect(appliesIceServers(row.origin, row.inRoom)).toBe(row.expected);
    });
  }
});
