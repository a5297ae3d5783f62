/**
 * A call's ICE-disconnected bound, over the real server, real WebRTC (@roamhq/wrtc) and a real
 * coturn: an accepted call loses its media path without a word on the signaling side, and the call
 * ends through the bound, as rooms' pairs do, instead of hanging until ICE itself gives up.
 *
 * How the path dies: the caller is relay-only, so every packet of the call goes through coturn;
 * freezing coturn (SIGSTOP) is the caller's network going dark (no ICE, DTLS or SCTP goodbye, and no
 * ICMP "unreachable" from a closed port, reaches the callee). Closing one side's `RTCPeerConnection` would not do: its data channel closes cleanly and
 * the other side sees a remote close at once, never `disconnected`. The callee, whose own network
 * is fine, sees ICE go `disconnected`; its bound (short here) fails the call's link with
 * `ERR_ICE_DISCONNECTED` while ICE still says `disconnected` (ICE's own `failed` would take about
 * 30 s), and after the peer-loss grace the phone session hangs up with `stop {reason: "exception"}`.
 */
import wrtc from "@roamhq/wrtc";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { isUdpCandidate, settleWebRtc } from "../client/headless/peers.ts";
import { CallEndReason, CallState, PhoneSession, type CallEnd, type PhoneCall, type PhoneSessionOptions } from "../client/core/phone.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import { requireCoturn, startCoturn, type RunningCoturn } from "./support/coturn.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";
import { recordingWebSocket, type WireMessage } from "./support/recording-websocket.ts";
import { MESH_DEADLINE_MS, waitFor } from "./mesh/helpers.ts";

const TURN_SECRET = "ice-disconnected-secret";

/** The callee's bound: short, so that it ends the call long before ICE's own `failed`. */
const CALLEE_ICE_DISCONNECTED_TIMEOUT_MS = 200;
const CALLEE_PEER_LOSS_GRACE_MS = 500;

/**
 * The caller's bound and grace: far longer than the test, so that the caller's call can end only
 * through what the callee tells the server.
 */
const CALLER_PATIENCE_MS = 120_000;

const hasCoturn = requireCoturn();

/** One user: a phone session whose socket records every message both ways. */
class User {
  readonly session: PhoneSession;
  readonly userID: string;
  readonly sent: WireMessage[] = [];
  readonly received: WireMessage[] = [];

  constructor(name: string, url: string, options: Partial<PhoneSessionOptions>) {
    this.userID = `${name}-${Math.random().toString(36).slice(2, 8)}`;
    this.session = new PhoneSession({ url, userID: this.userID, wrtc, WebSocket: recordingWebSocket(this.sent, this.received), candidateFilter: isUdpCandidate, ...options });
  }

  sentOf(type: string): WireMessage[] {
    return this.sent.filter((message) => message.type === type);
  }

  receivedOf(type: string): WireMessage[] {
    return this.received.filter((message) => message.type === type);
  }
}

/** Resolves with the end of `call`, from the session's `call-ended`. */
function endOf(session: PhoneSession, call: PhoneCall): Promise<CallEnd> {
  return new Promise((resolve) => {
    const unsubscribe = session.on("call-ended", (ended) => {
      if (ended.call === call) {
        unsubscribe();
        resolve(ended.end);
      }
    });
  });
}

/** The local candidate type (`host`, `srflx`, `relay`) of the pair the connection selected. */
async function selectedLocalCandidateType(pc: RTCPeerConnection | undefined): Promise<unknown> {
  const stats = [...((await pc?.getStats()) ?? new Map<string, Record<string, unknown>>()).values()] as Array<Record<string, unknown>>;
  const byId = new Map(stats.map((entry) => [entry.id, entry]));
  const transport = stats.find((entry) => entry.type === "transport" && typeof entry.selectedCandidatePairId === "string");
  const pair = transport
    ? byId.get(transport.selectedCandidatePairId)
    : stats.find((entry) => entry.type === "candidate-pair" && entry.nominated === true && entry.state === "succeeded");
  return byId.get(pair?.localCandidateId)?.candidateType;
}

describe.skipIf(!hasCoturn)("a call's ICE-disconnected bound", () => {
  let turn: RunningCoturn;
  let server: RunningServer;
  const users: User[] = [];

  beforeAll(async () => {
    turn = await startCoturn({ secret: TURN_SECRET });
    server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], turnUrls: [turn.url], turnSecret: TURN_SECRET });
  });

  afterEach(async () => {
    for (const user of users.splice(0)) {
      user.session.close();
    }
    await settleWebRtc();
  });

  afterAll(async () => {
    await server?.close();
    await turn?.stop();
  });

  test("the callee's link fails with ERR_ICE_DISCONNECTED when the media path dies, and the call ends media_failed on both sides", async () => {
    const alice = new User("alice", server.wsUrl, {
      rtcConfiguration: { iceTransportPolicy: "relay" },
      iceDisconnectedTimeoutMs: CALLER_PATIENCE_MS,
      peerLossGraceMs: CALLER_PATIENCE_MS,
    });
    const bob = new User("bob", server.wsUrl, { iceDisconnectedTimeoutMs: CALLEE_ICE_DISCONNECTED_TIMEOUT_MS, peerLossGraceMs: CALLEE_PEER_LOSS_GRACE_MS });
    users.push(alice, bob);
    await alice.session.connect();
    await bob.session.connect();
    await waitFor("alice sees bob online", () => alice.session.canCall(bob.userID));
    const rung = new Promise<PhoneCall>((resolve) => bob.session.once("incoming-call", resolve));
    const outgoing = alice.session.call(bob.userID);
    const incoming = await rung;
    bob.session.accept();
    await waitFor("both calls active", () => outgoing.state === CallState.active && incoming.state === CallState.active);
    // The whole path runs through coturn: stopping it takes the call's only path down.
    expect(await selectedLocalCandidateType(outgoing.peerConnection)).toBe("relay");

    /** Bob's peer errors, each with the ICE state of the connection when it was reported. */
    const calleePeerErrors: Array<{ message: string; iceState: string | undefined }> = [];
    bob.session.on("error", ({ code, message }) => {
      if (code === "peer_error") {
        calleePeerErrors.push({ message, iceState: incoming.peerConnection?.iceConnectionState });
      }
    });
    const calleeEnd = endOf(bob.session, incoming);
    const callerEnd = endOf(alice.session, outgoing);

    // Frozen, not stopped: a stopped coturn's closed port answers with ICMP "unreachable", which
    // lets ICE fail the relayed pair at once (seen under load: ERR_ICE_CONNECTION_FAILURE) instead
    // of going quiet, which is what the bound is for.
    turn.pause();

    await waitFor("bob's link fails", () => calleePeerErrors.length > 0, MESH_DEADLINE_MS);
    // The bound, not ICE's own failure (`failed`) nor a remote close (`closed`): when the link
    // failed, ICE still said `disconnected`.
    expect(calleePeerErrors).toEqual([{ message: expect.stringMatching(/^peer_failed: ERR_ICE_DISCONNECTED: /), iceState: "disconnected" }]);
    // Nothing on the signaling side said the call was over before bob's link failed.
    expect(bob.receivedOf("stopCommunication")).toEqual([]);
    expect(alice.sentOf("stop")).toEqual([]);

    // After the peer-loss grace bob hangs up as a media failure; the server tells alice so.
    expect(await calleeEnd).toEqual({ reason: CallEndReason.mediaFailed, byLocal: true, message: expect.any(String) });
    expect(await callerEnd).toEqual({ reason: CallEndReason.mediaFailed, byLocal: false });
    expect(bob.sentOf("stop")).toEqual([{ type: "stop", reason: "exception" }]);
    expect(alice.receivedOf("stopCommunication")).toEqual([{ type: "stopCommunication", reason: "exception" }]);
    expect(alice.sentOf("stop")).toEqual([]);
    // Both sessions stay logged in, ready for the next call.
    await waitFor("both can call again", () => alice.session.canCall(bob.userID) && bob.session.canCall(alice.userID));
  });
});
