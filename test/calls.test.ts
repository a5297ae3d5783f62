/**
 * Unit tests of the pure call registry (seeds 000 and 002) on the real login directory: every
 * transition of the call state machine, table-driven, the races included, each with the directory
 * changes it reports; then the statuses it sets as the fan-out sends them (one window per step),
 * the calls a login takeover ends, timers and the call schemas. The directory's own transitions
 * (login, takeover, logout) are tested in logins.test.ts, the fan-out's coalescing across steps in
 * presence.test.ts.
 *
 * Every client message goes through the real valibot schemas first, in a `v.variant` built like the
 * one in shared/protocol/index.ts, so the schemas and the module are tested together.
 */
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { CallRegistry, ENDING_MS, RING_TIMEOUT_MS, type CallRegistryOptions, type CallResult, type TimerCommand } from "../server/calls.ts";
import { combineEffects, type CloseCommand, type Effects } from "../server/effects.ts";
import { LoginDirectory, type LoginResult } from "../server/logins.ts";
import { PresenceFanout, type PresenceChanges } from "../server/presence.ts";
import { CALL_CLIENT_SCHEMAS, CallDescriptionSchema, CallSchema, IncomingCallResponseSchema, OnIceCandidateSchema, StopCallSchema, StopSchema, type CallClientMessage, type CallServerMessage } from "../shared/protocol/call.ts";
import type { ErrorCode } from "../shared/protocol/errors.ts";
import { SDP_MAX_LENGTH } from "../shared/protocol/room.ts";
import { LoginSchema, type LoginMessage, type PresenceServerMessage, type PresenceStatus, type PresenceUser } from "../shared/protocol/presence.ts";

const ClientSchema = v.variant("type", [LoginSchema, ...CALL_CLIENT_SCHEMAS]);

/** A client message of the call or presence family. */
type CallsClientMessage = LoginMessage | CallClientMessage;

/** A server message the call registry or the login directory produces. */
type CallsServerMessage = CallServerMessage | PresenceServerMessage;

/** One step's result: its effects (every field present), or a refusal. */
type StepResult = ({ ok: true } & Required<Effects<CallsServerMessage>>) | { ok: false; code: ErrorCode; message: string };

/** Decodes `raw` with the real schemas, as the socket layer does; throws on a schema error. */
function decode(raw: Record<string, unknown>): CallsClientMessage {
  return v.parse(ClientSchema, raw);
}

const OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n(offer)";
const ANSWER = "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n(answer)";
const CANDIDATE = { candidate: "candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 };
const CANDIDATE_2 = { candidate: "candidate:2 1 udp 1686052607 203.0.113.7 50001 typ srflx", sdpMid: "0", sdpMLineIndex: 0 };
const ALICE_AVATAR = "https://example.com/alice.png";

const PRESENCE_TYPES: ReadonlySet<string> = new Set(["presence", "presenceUpdate", "presenceLeft", "presenceChanges"]);

/**
 * Stands in for the socket layer: routes a login to the login directory and everything else to the
 * call registry, ends a replaced or dropped login's call as the login handler and the session
 * lifecycle do, applies every result the way the effects applier does (deliveries into
 * per-connection inboxes, presence changes through a real {@link PresenceFanout} whose window closes
 * right after each step, timer commands into a pending set, closes recorded) and fires timers on
 * demand. It drives the real directory and registry; nothing is mocked.
 */
class Switchboard {
  readonly logins = new LoginDirectory();
  readonly registry: CallRegistry;
  readonly presence = new PresenceFanout();
  readonly inbox = new Map<string, CallsServerMessage[]>();
  readonly pendingTimers = new Map<string, number>();
  readonly closes: CloseCommand[] = [];
  timerLog: TimerCommand[] = [];

  constructor(options: CallRegistryOptions = {}) {
    this.registry = new CallRegistry(this.logins, options);
  }

  apply(step: StepResult | CallResult | LoginResult): StepResult {
    const result: StepResult = step.ok
      ? { ok: true, deliveries: step.deliveries, timers: step.timers ?? [], closes: step.closes ?? [], presence: step.presence }
      : step;
    if (result.ok) {
      const effects = this.presence.apply(result.presence);
      for (const { to, message } of [...result.deliveries, ...effects.deliveries, ...this.presence.flush()]) {
        this.inbox.set(to, [...(this.inbox.get(to) ?? []), message]);
      }
      for (const command of result.timers) {
        this.timerLog.push(command);
        if (command.op === "start") {
          this.pendingTimers.set(command.timerId, command.delayMs);
        } else {
          this.pendingTimers.delete(command.timerId);
        }
      }
      this.closes.push(...result.closes);
    }
    return result;
  }

  send(connectionId: string, raw: Record<string, unknown>): StepResult {
    const message = decode(raw);
    if (message.type !== "login") {
      return this.apply(this.registry.handle(connectionId, message));
    }
    // A takeover here stands for one that proved it is the same user (logins.test.ts tests the proofs).
    const login = this.logins.login(connectionId, message, "token");
    if (!login.ok || login.replaced === undefined) {
      return this.apply(login);
    }
    return this.apply({ ok: true, ...combineEffects(this.registry.loginEnded(login.replaced, "replaced"), login) });
  }

  drop(connectionId: string): StepResult {
    const loggedOut = this.logins.logout(connectionId);
    return this.apply({ ok: true, ...combineEffects(this.registry.loginEnded(connectionId, "disconnected"), loggedOut) });
  }

  /** Runs a timer out, whether or not it is still pending (a late timer must be harmless). */
  fire(timerId: string): StepResult {
    this.pendingTimers.delete(timerId);
    return this.apply(this.registry.timerFired(timerId));
  }

  /** Everything `connectionId` received, in order. */
  received(connectionId: string): CallsServerMessage[] {
    return this.inbox.get(connectionId) ?? [];
  }

  /** What `connectionId` received, presence left out. */
  callMessages(connectionId: string): CallsServerMessage[] {
    return this.received(connectionId).filter((message) => !PRESENCE_TYPES.has(message.type));
  }

  /** Forgets what was delivered so far, to look at one step alone. */
  clear(): void {
    this.inbox.clear();
    this.timerLog = [];
    this.closes.length = 0;
  }

  statuses(): Statuses {
    return [this.logins.statusOf("alice"), this.logins.statusOf("bob"), this.logins.statusOf("carol")];
  }
}

/** Statuses of alice, bob and carol in that order; undefined is offline. */
type Statuses = [PresenceStatus | undefined, PresenceStatus | undefined, PresenceStatus | undefined];

/** alice on connection `a` (with name and avatar), bob on `b` (with name), carol on `c` (id only). */
function everyoneOnline(board = new Switchboard()): Switchboard {
  board.send("a", { type: "login", userID: "alice", username: "Alice", avatar: ALICE_AVATAR });
  board.send("b", { type: "login", userID: "bob", username: "Bob" });
  board.send("c", { type: "login", userID: "carol" });
  return board;
}

const call = (calleeID: string) => ({ type: "call", calleeID, sdpOffer: OFFER });
const accept = (extra: Record<string, unknown> = {}) => ({ type: "incomingCallResponse", callerID: "alice", callResponse: "accepted", sdpAnswer: ANSWER, ...extra });
const ice = (candidate = CANDIDATE) => ({ type: "onIceCandidate", candidate });
const RENEGOTIATION_OFFER = { type: "offer", sdp: "v=0\r\no=- 1 3 IN IP4 127.0.0.1\r\n(renegotiation)" } as const;
const RESTART_ANSWER = { type: "answer", sdp: "v=0\r\no=- 3 5 IN IP4 127.0.0.1\r\n(ice restart)" } as const;
const describeCall = (sdp: { type: "offer" | "answer"; sdp: string } = RENEGOTIATION_OFFER) => ({ type: "callDescription", sdp });

/** Runs `steps` on a fresh board where everyone is online. */
function givenSteps(...steps: ((board: Switchboard) => unknown)[]): () => Switchboard {
  return () => {
    const board = everyoneOnline();
    for (const step of steps) {
      step(board);
    }
    return board;
  };
}

const aliceCallsBob = (board: Switchboard) => board.send("a", call("bob"));
const bobAccepts = (board: Switchboard) => board.send("b", accept());
const aliceStops = (board: Switchboard) => board.send("a", { type: "stop" });
const aliceCancels = (board: Switchboard) => board.send("a", { type: "stopCall" });

/** The situations the transition table starts from. Every one has alice, bob and carol logged in. */
const GIVEN = {
  "everyone is online": givenSteps(),
  "alice rings bob": givenSteps(aliceCallsBob),
  "alice and bob are in a call": givenSteps(aliceCallsBob, bobAccepts),
  "alice and bob are ending their call": givenSteps(aliceCallsBob, bobAccepts, aliceStops),
  "alice rang bob and cancelled": givenSteps(aliceCallsBob, aliceCancels),
  "alice's ring to bob timed out": givenSteps(aliceCallsBob, (board) => board.fire("ring:c1")),
  "alice rang bob, cancelled and rings him again": givenSteps(aliceCallsBob, aliceCancels, aliceCallsBob),
} satisfies Record<string, () => Switchboard>;

type Given = keyof typeof GIVEN;

/** One step: a client message, a dropped connection or a timer running out. */
type Action = { from: string; send: Record<string, unknown> } | { drop: string } | { fire: string };

interface Transition {
  spec: string;
  given: Given;
  when: Action;
  /** For a refused step: its code; nothing may change. */
  error?: ErrorCode;
  /** Call messages (presence left out) each of `a`, `b`, `c` must receive; omitted means none. */
  a?: CallsServerMessage[];
  b?: CallsServerMessage[];
  c?: CallsServerMessage[];
  /** Statuses after the step; omitted for a refused step (unchanged). */
  after?: Statuses;
  /** Timer commands of the step; omitted means none. */
  timers?: TimerCommand[];
}

function run(board: Switchboard, action: Action): StepResult {
  if ("send" in action) {
    return board.send(action.from, action.send);
  }
  if ("drop" in action) {
    return board.drop(action.drop);
  }
  return board.fire(action.fire);
}

const incomingCallC1: CallsServerMessage = { type: "incomingCall", callId: "c1", callerID: "alice", username: "Alice", avatar: ALICE_AVATAR, sdpOffer: OFFER };
const RING_START: TimerCommand = { op: "start", timerId: "ring:c1", delayMs: RING_TIMEOUT_MS };
const RING_CANCEL: TimerCommand = { op: "cancel", timerId: "ring:c1" };
const ENDING_START: TimerCommand = { op: "start", timerId: "ending:c1", delayMs: ENDING_MS };

const HAPPY_PATH: Transition[] = [
  {
    spec: "call rings an online callee with the caller's stamped identity and SDP offer",
    given: "everyone is online",
    when: { from: "a", send: { ...call("bob"), callerID: "mallory" } },
    b: [incomingCallC1],
    after: ["connecting", "connecting", "online"],
    timers: [RING_START],
  },
  {
    spec: "incomingCallResponse accepted sends the answer to the caller and startCommunication to the callee",
    given: "alice rings bob",
    when: { from: "b", send: accept() },
    a: [{ type: "callResponse", callResponse: "accepted", calleeID: "bob", sdpAnswer: ANSWER }],
    b: [{ type: "startCommunication", callId: "c1", callerID: "alice" }],
    after: ["in_call", "in_call", "online"],
    timers: [RING_CANCEL],
  },
  {
    spec: "incomingCallResponse accepted reads seed 000's sdpOffer field as the answer when sdpAnswer is absent",
    given: "alice rings bob",
    when: { from: "b", send: { type: "incomingCallResponse", callerID: "alice", callResponse: "accepted", sdpOffer: ANSWER } },
    a: [{ type: "callResponse", callResponse: "accepted", calleeID: "bob", sdpAnswer: ANSWER }],
    b: [{ type: "startCommunication", callId: "c1", callerID: "alice" }],
    after: ["in_call", "in_call", "online"],
    timers: [RING_CANCEL],
  },
  {
    spec: "incomingCallResponse accepted with the ringing callId is accepted",
    given: "alice rings bob",
    when: { from: "b", send: accept({ callId: "c1" }) },
    a: [{ type: "callResponse", callResponse: "accepted", calleeID: "bob", sdpAnswer: ANSWER }],
    b: [{ type: "startCommunication", callId: "c1", callerID: "alice" }],
    after: ["in_call", "in_call", "online"],
    timers: [RING_CANCEL],
  },
  {
    spec: "incomingCallResponse rejected tells the caller rejected and frees both",
    given: "alice rings bob",
    when: { from: "b", send: { type: "incomingCallResponse", callerID: "alice", callResponse: "rejected" } },
    a: [{ type: "callResponse", callResponse: "rejected", calleeID: "bob" }],
    after: ["online", "online", "online"],
    timers: [RING_CANCEL],
  },
  {
    spec: "incomingCallResponse exception tells the caller exception and frees both",
    given: "alice rings bob",
    when: { from: "b", send: { type: "incomingCallResponse", callerID: "alice", callResponse: "exception" } },
    a: [{ type: "callResponse", callResponse: "exception", calleeID: "bob" }],
    after: ["online", "online", "online"],
    timers: [RING_CANCEL],
  },
  {
    spec: "stopCall from the caller while ringing gives the callee incomingCallStopped (a missed call)",
    given: "alice rings bob",
    when: { from: "a", send: { type: "stopCall" } },
    b: [{ type: "incomingCallStopped", callId: "c1", callerID: "alice" }],
    after: ["online", "online", "online"],
    timers: [RING_CANCEL],
  },
  {
    spec: "stop from the caller while ringing cancels like stopCall",
    given: "alice rings bob",
    when: { from: "a", send: { type: "stop" } },
    b: [{ type: "incomingCallStopped", callId: "c1", callerID: "alice" }],
    after: ["online", "online", "online"],
    timers: [RING_CANCEL],
  },
  {
    spec: "stop from the callee while ringing rejects the call",
    given: "alice rings bob",
    when: { from: "b", send: { type: "stop" } },
    a: [{ type: "callResponse", callResponse: "rejected", calleeID: "bob" }],
    after: ["online", "online", "online"],
    timers: [RING_CANCEL],
  },
  {
    spec: "stopCall from the callee while ringing rejects the call (stopCall is an alias of stop)",
    given: "alice rings bob",
    when: { from: "b", send: { type: "stopCall" } },
    a: [{ type: "callResponse", callResponse: "rejected", calleeID: "bob" }],
    after: ["online", "online", "online"],
    timers: [RING_CANCEL],
  },
  {
    spec: "the ring timer running out gives the caller NotResponse and the callee incomingCallNotResponse",
    given: "alice rings bob",
    when: { fire: "ring:c1" },
    a: [{ type: "callResponse", callResponse: "NotResponse", calleeID: "bob" }],
    b: [{ type: "incomingCallNotResponse", callId: "c1", callerID: "alice" }],
    after: ["online", "online", "online"],
  },
  {
    spec: "onIceCandidate in a call is relayed to the other party as iceCandidate",
    given: "alice and bob are in a call",
    when: { from: "b", send: ice() },
    a: [{ type: "iceCandidate", candidate: CANDIDATE }],
    after: ["in_call", "in_call", "online"],
  },
  {
    spec: "callDescription offer from the caller in a call is relayed unchanged to the callee",
    given: "alice and bob are in a call",
    when: { from: "a", send: describeCall() },
    b: [{ type: "callDescription", sdp: RENEGOTIATION_OFFER }],
    after: ["in_call", "in_call", "online"],
  },
  {
    spec: "callDescription answer from the callee in a call is relayed unchanged to the caller",
    given: "alice and bob are in a call",
    when: { from: "b", send: describeCall(RESTART_ANSWER) },
    a: [{ type: "callDescription", sdp: RESTART_ANSWER }],
    after: ["in_call", "in_call", "online"],
  },
  {
    spec: "onIceCandidate while ringing is held by the server, not delivered yet",
    given: "alice rings bob",
    when: { from: "a", send: ice() },
    after: ["connecting", "connecting", "online"],
  },
  {
    spec: "stop in a call gives the other party stopCommunication normal and both become ending",
    given: "alice and bob are in a call",
    when: { from: "a", send: { type: "stop" } },
    b: [{ type: "stopCommunication", reason: "normal" }],
    after: ["ending", "ending", "online"],
    timers: [ENDING_START],
  },
  {
    spec: "stop with reason exception in a call passes the reason to the other party",
    given: "alice and bob are in a call",
    when: { from: "b", send: { type: "stop", reason: "exception" } },
    a: [{ type: "stopCommunication", reason: "exception" }],
    after: ["ending", "ending", "online"],
    timers: [ENDING_START],
  },
  {
    spec: "the ending timer running out brings both parties back online",
    given: "alice and bob are ending their call",
    when: { fire: "ending:c1" },
    after: ["online", "online", "online"],
  },
  {
    spec: "an ending user may place a call itself, which ends its ending period",
    given: "alice and bob are ending their call",
    when: { from: "a", send: call("carol") },
    c: [{ type: "incomingCall", callId: "c2", callerID: "alice", username: "Alice", avatar: ALICE_AVATAR, sdpOffer: OFFER }],
    after: ["connecting", "ending", "connecting"],
    timers: [{ op: "start", timerId: "ring:c2", delayMs: RING_TIMEOUT_MS }],
  },
  {
    spec: "stop with no call is a harmless no-op (both parties hung up at the same moment)",
    given: "alice and bob are ending their call",
    when: { from: "b", send: { type: "stop" } },
    after: ["ending", "ending", "online"],
  },
  {
    spec: "a ring timer that fires after the call was accepted does nothing",
    given: "alice and bob are in a call",
    when: { fire: "ring:c1" },
    after: ["in_call", "in_call", "online"],
  },
  {
    spec: "an unknown timer id does nothing",
    given: "alice rings bob",
    when: { fire: "bogus:c1" },
    after: ["connecting", "connecting", "online"],
  },
];

const DISCONNECTS: Transition[] = [
  {
    spec: "the caller's connection closing while ringing gives the callee incomingCallStopped",
    given: "alice rings bob",
    when: { drop: "a" },
    b: [{ type: "incomingCallStopped", callId: "c1", callerID: "alice" }],
    after: [undefined, "online", "online"],
    timers: [RING_CANCEL],
  },
  {
    spec: "the callee's connection closing while ringing gives the caller notOnline",
    given: "alice rings bob",
    when: { drop: "b" },
    a: [{ type: "callResponse", callResponse: "notOnline", calleeID: "bob" }],
    after: ["online", undefined, "online"],
    timers: [RING_CANCEL],
  },
  {
    spec: "the caller's connection closing in a call gives the callee stopCommunication disconnected",
    given: "alice and bob are in a call",
    when: { drop: "a" },
    b: [{ type: "stopCommunication", reason: "disconnected" }],
    after: [undefined, "ending", "online"],
    timers: [ENDING_START],
  },
  {
    spec: "the callee's connection closing in a call gives the caller stopCommunication disconnected",
    given: "alice and bob are in a call",
    when: { drop: "b" },
    a: [{ type: "stopCommunication", reason: "disconnected" }],
    after: ["ending", undefined, "online"],
    timers: [ENDING_START],
  },
  {
    spec: "a connection closing while ending keeps the other party's ending timer",
    given: "alice and bob are ending their call",
    when: { drop: "a" },
    after: [undefined, "ending", "online"],
  },
  {
    spec: "a user outside any call going offline affects no call",
    given: "alice and bob are in a call",
    when: { drop: "c" },
    after: ["in_call", "in_call", undefined],
  },
  {
    spec: "a connection that never logged in closing changes nothing",
    given: "alice rings bob",
    when: { drop: "x" },
    after: ["connecting", "connecting", "online"],
  },
];

const RACES_AND_BUSY: Transition[] = [
  {
    spec: "call from the second of two users calling each other at the same moment gets inCalling (the first ring stands)",
    given: "alice rings bob",
    when: { from: "b", send: call("alice") },
    b: [{ type: "callResponse", callResponse: "inCalling", calleeID: "alice" }],
    after: ["connecting", "connecting", "online"],
  },
  {
    spec: "call to a user who is ringing gets inCalling",
    given: "alice rings bob",
    when: { from: "c", send: call("bob") },
    c: [{ type: "callResponse", callResponse: "inCalling", calleeID: "bob" }],
    after: ["connecting", "connecting", "online"],
  },
  {
    spec: "call to a user who is placing a call gets inCalling",
    given: "alice rings bob",
    when: { from: "c", send: call("alice") },
    c: [{ type: "callResponse", callResponse: "inCalling", calleeID: "alice" }],
    after: ["connecting", "connecting", "online"],
  },
  {
    spec: "call from a third user to someone in a call gets inCalling",
    given: "alice and bob are in a call",
    when: { from: "c", send: call("bob") },
    c: [{ type: "callResponse", callResponse: "inCalling", calleeID: "bob" }],
    after: ["in_call", "in_call", "online"],
  },
  {
    spec: "call to a user who is ending gets inCalling",
    given: "alice and bob are ending their call",
    when: { from: "c", send: call("bob") },
    c: [{ type: "callResponse", callResponse: "inCalling", calleeID: "bob" }],
    after: ["ending", "ending", "online"],
  },
  {
    spec: "call to an unknown or offline user gets notOnline",
    given: "everyone is online",
    when: { from: "a", send: call("dave") },
    a: [{ type: "callResponse", callResponse: "notOnline", calleeID: "dave" }],
    after: ["online", "online", "online"],
  },
  {
    spec: "stopCall from the caller just after the callee accepted ends the call like stop",
    given: "alice and bob are in a call",
    when: { from: "a", send: { type: "stopCall" } },
    b: [{ type: "stopCommunication", reason: "normal" }],
    after: ["ending", "ending", "online"],
    timers: [ENDING_START],
  },
  {
    spec: "stopCall after the ring timed out is a harmless no-op",
    given: "alice's ring to bob timed out",
    when: { from: "a", send: { type: "stopCall" } },
    after: ["online", "online", "online"],
  },
  {
    spec: "incomingCallResponse accepted just after the caller cancelled is refused with not_in_call",
    given: "alice rang bob and cancelled",
    when: { from: "b", send: accept() },
    error: "not_in_call",
  },
  {
    spec: "incomingCallResponse rejected just after the caller cancelled is refused with not_in_call",
    given: "alice rang bob and cancelled",
    when: { from: "b", send: { type: "incomingCallResponse", callerID: "alice", callResponse: "rejected" } },
    error: "not_in_call",
  },
  {
    spec: "incomingCallResponse accepted just after the ring timed out is refused with not_in_call",
    given: "alice's ring to bob timed out",
    when: { from: "b", send: accept() },
    error: "not_in_call",
  },
  {
    spec: "incomingCallResponse naming an older ring of the same caller (stale callId) is refused with not_in_call",
    given: "alice rang bob, cancelled and rings him again",
    when: { from: "b", send: accept({ callId: "c1" }) },
    error: "not_in_call",
  },
  {
    spec: "incomingCallResponse naming the new ring after a cancelled one is accepted",
    given: "alice rang bob, cancelled and rings him again",
    when: { from: "b", send: accept({ callId: "c2" }) },
    a: [{ type: "callResponse", callResponse: "accepted", calleeID: "bob", sdpAnswer: ANSWER }],
    b: [{ type: "startCommunication", callId: "c2", callerID: "alice" }],
    after: ["in_call", "in_call", "online"],
    timers: [{ op: "cancel", timerId: "ring:c2" }],
  },
];

const REFUSALS: Transition[] = [
  { spec: "call to oneself is refused with self_target", given: "everyone is online", when: { from: "a", send: call("alice") }, error: "self_target" },
  { spec: "call while already ringing someone is refused with invalid_state", given: "alice rings bob", when: { from: "a", send: call("carol") }, error: "invalid_state" },
  { spec: "call while in a call is refused with invalid_state", given: "alice and bob are in a call", when: { from: "b", send: call("carol") }, error: "invalid_state" },
  {
    spec: "incomingCallResponse naming a caller who is not ringing is refused with not_in_call",
    given: "alice rings bob",
    when: { from: "b", send: { ...accept(), callerID: "carol" } },
    error: "not_in_call",
  },
  { spec: "incomingCallResponse from the caller is refused with not_in_call", given: "alice rings bob", when: { from: "a", send: { ...accept(), callerID: "alice" } }, error: "not_in_call" },
  { spec: "incomingCallResponse from a user nobody rings is refused with not_in_call", given: "alice rings bob", when: { from: "c", send: accept() }, error: "not_in_call" },
  { spec: "incomingCallResponse accepted twice is refused with invalid_state", given: "alice and bob are in a call", when: { from: "b", send: accept() }, error: "invalid_state" },
  {
    spec: "incomingCallResponse accepted without an SDP answer is refused with bad_message",
    given: "alice rings bob",
    when: { from: "b", send: { type: "incomingCallResponse", callerID: "alice", callResponse: "accepted" } },
    error: "bad_message",
  },
  { spec: "onIceCandidate outside a call is refused with not_in_call", given: "alice rings bob", when: { from: "c", send: ice() }, error: "not_in_call" },
  { spec: "onIceCandidate after the call ended is refused with not_in_call", given: "alice and bob are ending their call", when: { from: "b", send: ice() }, error: "not_in_call" },
  { spec: "callDescription while the call rings is refused with invalid_state (caller)", given: "alice rings bob", when: { from: "a", send: describeCall() }, error: "invalid_state" },
  { spec: "callDescription while the call rings is refused with invalid_state (callee)", given: "alice rings bob", when: { from: "b", send: describeCall(RESTART_ANSWER) }, error: "invalid_state" },
  { spec: "callDescription from a user in no call is refused with not_in_call", given: "alice and bob are in a call", when: { from: "c", send: describeCall() }, error: "not_in_call" },
  { spec: "callDescription after the call ended is refused with not_in_call", given: "alice and bob are ending their call", when: { from: "a", send: describeCall() }, error: "not_in_call" },
  ...(
    [
      ["call", call("bob")],
      ["incomingCallResponse", accept()],
      ["stopCall", { type: "stopCall" }],
      ["stop", { type: "stop" }],
      ["onIceCandidate", ice()],
      ["callDescription", describeCall()],
    ] as const
  ).map(
    ([type, send]): Transition => ({
      spec: `${type} before login is refused with not_logged_in`,
      given: "alice rings bob",
      when: { from: "x", send },
      error: "not_logged_in",
    }),
  ),
];

/**
 * The directory changes a step must report, derived from the directory before and after it: every
 * entry that is new or differs, every user gone, and the dropped connection leaving the audience.
 * Entries are sorted by user id; the registry reports them in order of first change.
 */
function expectedChanges(before: PresenceUser[], after: PresenceUser[], unsubscribed: string[]): PresenceChanges {
  const byID = new Map(before.map((user) => [user.userID, user]));
  return {
    unsubscribed,
    left: before.filter((user) => !after.some((other) => other.userID === user.userID)).map((user) => user.userID),
    updated: after.filter((user) => JSON.stringify(byID.get(user.userID)) !== JSON.stringify(user)),
  };
}

function sortedChanges(changes: PresenceChanges): PresenceChanges {
  return { ...changes, updated: [...changes.updated].sort((a, b) => a.userID.localeCompare(b.userID)) };
}

function checkTransition(row: Transition): void {
  const board = GIVEN[row.given]();
  const before = board.statuses();
  const directoryBefore = board.logins.directory();
  const droppedLogin = "drop" in row.when && board.logins.userIdOf(row.when.drop) !== undefined ? [row.when.drop] : [];
  board.clear();
  const result = run(board, row.when);
  if (row.error) {
    expect(result).toMatchObject({ ok: false, code: row.error });
    expect(board.statuses()).toEqual(before);
    expect(board.logins.directory()).toEqual(directoryBefore);
    expect(board.inbox.size).toBe(0);
    return;
  }
  expect(result.ok).toBe(true);
  expect(board.callMessages("a")).toEqual(row.a ?? []);
  expect(board.callMessages("b")).toEqual(row.b ?? []);
  expect(board.callMessages("c")).toEqual(row.c ?? []);
  expect(board.statuses()).toEqual(row.after);
  expect(board.timerLog).toEqual(row.timers ?? []);
  const directoryAfter = board.logins.directory();
  expect(result.ok && sortedChanges(result.presence)).toEqual(sortedChanges(expectedChanges(directoryBefore, directoryAfter, droppedLogin)));
  expect(board.presence.directory()).toEqual(directoryAfter);
}

describe("CallRegistry transitions (happy path)", () => {
  it.each(HAPPY_PATH)("$spec", checkTransition);
});

describe("CallRegistry transitions when a connection closes", () => {
  it.each(DISCONNECTS)("$spec", checkTransition);
});

describe("CallRegistry races and busy users", () => {
  it.each(RACES_AND_BUSY)("$spec", checkTransition);
});

describe("CallRegistry refusals (failure cases): nothing changes", () => {
  it.each(REFUSALS)("$spec", checkTransition);
});

describe("CallRegistry ICE candidates while ringing", () => {
  it("delivers held candidates in order right after the accept messages", () => {
    const board = GIVEN["alice rings bob"]();
    board.send("a", ice(CANDIDATE));
    board.send("a", ice(CANDIDATE_2));
    board.send("b", ice(CANDIDATE));
    board.clear();
    board.send("b", accept());
    expect(board.callMessages("a")).toEqual([
      { type: "callResponse", callResponse: "accepted", calleeID: "bob", sdpAnswer: ANSWER },
      { type: "iceCandidate", candidate: CANDIDATE },
    ]);
    expect(board.callMessages("b")).toEqual([
      { type: "startCommunication", callId: "c1", callerID: "alice" },
      { type: "iceCandidate", candidate: CANDIDATE },
      { type: "iceCandidate", candidate: CANDIDATE_2 },
    ]);
  });

  it("drops held candidates when the ring ends without an answer", () => {
    const board = GIVEN["alice rings bob"]();
    board.send("a", ice());
    board.send("b", { type: "incomingCallResponse", callerID: "alice", callResponse: "rejected" });
    board.send("a", call("bob"));
    board.clear();
    board.send("b", accept({ callId: "c2" }));
    expect(board.callMessages("b")).toEqual([{ type: "startCommunication", callId: "c2", callerID: "alice" }]);
  });

  it("refuses a user's candidates beyond maxPendingCandidates with too_many_candidates; the other user has its own share", () => {
    const board = everyoneOnline(new Switchboard({ maxPendingCandidates: 2 }));
    board.send("a", call("bob"));
    expect(board.send("a", ice()).ok).toBe(true);
    expect(board.send("b", ice()).ok).toBe(true);
    expect(board.send("a", ice()).ok).toBe(true);
    expect(board.send("a", ice())).toMatchObject({ ok: false, code: "too_many_candidates" });
    expect(board.send("b", ice()).ok).toBe(true);
    expect(board.send("b", ice())).toMatchObject({ ok: false, code: "too_many_candidates" });
  });

  it("refuses a user's candidate that would take its held characters past maxPendingCandidateChars, and delivers what it held", () => {
    const board = everyoneOnline(new Switchboard({ maxPendingCandidateChars: 100 }));
    const sixty = { ...CANDIDATE, candidate: "c".repeat(50), sdpMid: "0".repeat(4), usernameFragment: "u".repeat(6) };
    board.send("a", call("bob"));
    expect(board.send("a", ice(sixty)).ok).toBe(true);
    expect(board.send("a", ice(sixty))).toMatchObject({ ok: false, code: "too_many_candidates" });
    // 39 + 1 (sdpMid "0"): exactly up to the bound.
    expect(board.send("a", ice({ ...CANDIDATE, candidate: "c".repeat(39), sdpMid: "0" })).ok).toBe(true);
    board.clear();
    board.send("b", accept());
    expect(board.callMessages("b").filter((message) => message.type === "iceCandidate")).toHaveLength(2);
  });
});

describe("CallRegistry presence: the statuses it sets", () => {
  it("pushes both parties' status changes as one presenceChanges to everyone, the parties included, after the call messages", () => {
    const board = GIVEN["everyone is online"]();
    board.clear();
    board.send("a", call("bob"));
    const changes = {
      type: "presenceChanges",
      users: [
        { userID: "alice", username: "Alice", avatar: ALICE_AVATAR, status: "connecting" },
        { userID: "bob", username: "Bob", status: "connecting" },
      ],
      left: [],
    };
    expect(board.received("a")).toEqual([changes]);
    expect(board.received("b")).toEqual([incomingCallC1, changes]);
    expect(board.received("c")).toEqual([changes]);
  });

  it.each([
    ["accepted", accept(), "in_call"],
    ["rejected", { type: "incomingCallResponse", callerID: "alice", callResponse: "rejected" }, "online"],
  ] as const)("shows both parties' new status to a bystander when the callee answers %s", (_answer, send, status) => {
    const board = GIVEN["alice rings bob"]();
    board.clear();
    board.send("b", send);
    expect(board.received("c")).toEqual([
      {
        type: "presenceChanges",
        users: [
          { userID: "alice", username: "Alice", avatar: ALICE_AVATAR, status },
          { userID: "bob", username: "Bob", status },
        ],
        left: [],
      },
    ]);
  });

  it("sends nothing to anyone for a message that changes no status", () => {
    const board = GIVEN["alice and bob are in a call"]();
    board.clear();
    board.send("a", ice());
    expect(board.received("c")).toEqual([]);
    expect(board.received("a")).toEqual([]);
  });

  it("pushes the other party's update and alice's departure in one presenceChanges when a connection in a call closes", () => {
    const board = GIVEN["alice and bob are in a call"]();
    board.clear();
    board.drop("a");
    expect(board.received("c")).toEqual([
      { type: "presenceChanges", users: [{ userID: "bob", username: "Bob", status: "ending" }], left: ["alice"] },
    ]);
    expect(board.received("a")).toEqual([]);
    expect(board.logins.directory().map((user) => user.userID)).toEqual(["bob", "carol"]);
  });
});

describe("CallRegistry login takeover: the newer connection wins, the older one's call ends", () => {
  it("treats the older connection's later close as a no-op", () => {
    const board = GIVEN["everyone is online"]();
    board.send("b2", { type: "login", userID: "bob" });
    board.clear();
    expect(board.drop("b")).toEqual({ ok: true, deliveries: [], timers: [], closes: [], presence: { unsubscribed: [], left: [], updated: [] } });
    expect(board.logins.statusOf("bob")).toBe("online");
  });

  it.each([
    {
      spec: "ends an accepted call of the older connection with stopCommunication replaced",
      given: "alice and bob are in a call",
      a: [{ type: "stopCommunication", reason: "replaced" }],
      alice: "ending",
    },
    {
      spec: "answers a ring to the older connection with notOnline",
      given: "alice rings bob",
      a: [{ type: "callResponse", callResponse: "notOnline", calleeID: "bob" }],
      alice: "online",
    },
  ] as const)("$spec", ({ given, a, alice }) => {
    const board = GIVEN[given]();
    board.clear();
    board.send("b2", { type: "login", userID: "bob" });
    expect(board.callMessages("a")).toEqual(a);
    expect(board.statuses()).toEqual([alice, "online", "online"]);
  });

  it("stops the older connection's outgoing ring with incomingCallStopped", () => {
    const board = GIVEN["alice rings bob"]();
    board.clear();
    board.send("a2", { type: "login", userID: "alice" });
    expect(board.callMessages("b")).toEqual([{ type: "incomingCallStopped", callId: "c1", callerID: "alice" }]);
    expect(board.statuses()).toEqual(["online", "online", "online"]);
  });
});

describe("CallRegistry timers and options", () => {
  it("uses ringTimeoutMs for the ring timer", () => {
    const board = everyoneOnline(new Switchboard({ ringTimeoutMs: 250 }));
    board.send("a", call("bob"));
    expect(board.pendingTimers).toEqual(new Map([["ring:c1", 250]]));
  });

  it("skips ending and starts no timer when endingMs is 0", () => {
    const board = everyoneOnline(new Switchboard({ endingMs: 0 }));
    board.send("a", call("bob"));
    board.send("b", accept());
    board.clear();
    board.send("a", { type: "stop" });
    expect(board.statuses()).toEqual(["online", "online", "online"]);
    expect(board.timerLog).toEqual([]);
  });

  it("keeps an earlier ending timer from ending a later ending period early", () => {
    const board = GIVEN["alice and bob are ending their call"]();
    board.send("a", call("carol"));
    board.send("c", { ...accept(), callerID: "alice", callId: "c2" });
    board.send("c", { type: "stop" });
    board.fire("ending:c1");
    expect(board.statuses()).toEqual(["ending", "online", "ending"]);
    board.fire("ending:c2");
    expect(board.statuses()).toEqual(["online", "online", "online"]);
  });

  it("cancels an ending timer once neither party is still ending", () => {
    const board = GIVEN["alice and bob are ending their call"]();
    board.drop("b");
    board.clear();
    board.send("a", call("carol"));
    expect(board.timerLog).toContainEqual({ op: "cancel", timerId: "ending:c1" });
    expect(board.pendingTimers.has("ending:c1")).toBe(false);
  });

  it("leaves no pending timer behind after every kind of ending", () => {
    const board = GIVEN["alice rings bob"]();
    board.send("b", accept());
    board.send("b", { type: "stop" });
    board.fire("ending:c1");
    board.send("c", call("alice"));
    board.drop("c");
    expect(board.pendingTimers.size).toBe(0);
    expect(board.registry.stats()).toEqual({ ringingCalls: 0, activeCalls: 0 });
    expect(board.logins.count()).toBe(2);
  });

  it("counts ringing and active calls in stats", () => {
    const board = GIVEN["alice and bob are in a call"]();
    board.send("d", { type: "login", userID: "dave" });
    board.send("d", call("carol"));
    expect(board.registry.stats()).toEqual({ ringingCalls: 1, activeCalls: 1 });
    expect(board.logins.count()).toBe(4);
  });

  it.each([{ ringTimeoutMs: 0 }, { endingMs: -1 }, { maxPendingCandidates: Number.NaN }, { maxPendingCandidateChars: -1 }])("refuses the options %o", (options) => {
    expect(() => new CallRegistry(new LoginDirectory(), options)).toThrow(RangeError);
  });
});

describe("call schemas", () => {
  const accepted: [string, v.GenericSchema, Record<string, unknown>, unknown][] = [
    ["call drops a client-sent callerID", CallSchema, { type: "call", callerID: "mallory", calleeID: "bob", sdpOffer: OFFER }, { type: "call", calleeID: "bob", sdpOffer: OFFER }],
    ["stopCall ignores extra fields", StopCallSchema, { type: "stopCall", reason: "x" }, { type: "stopCall" }],
    ["stop accepts reason exception", StopSchema, { type: "stop", reason: "exception" }, { type: "stop", reason: "exception" }],
    ["onIceCandidate accepts an RTCIceCandidateInit", OnIceCandidateSchema, { type: "onIceCandidate", candidate: CANDIDATE }, { type: "onIceCandidate", candidate: CANDIDATE }],
    ["callDescription accepts an offer and drops extra fields", CallDescriptionSchema, { type: "callDescription", sdp: RENEGOTIATION_OFFER, targetId: "x" }, { type: "callDescription", sdp: RENEGOTIATION_OFFER }],
    ["callDescription accepts an answer", CallDescriptionSchema, { type: "callDescription", sdp: RESTART_ANSWER }, { type: "callDescription", sdp: RESTART_ANSWER }],
    ["callDescription accepts an SDP of exactly the room family's bound", CallDescriptionSchema, { type: "callDescription", sdp: { type: "offer", sdp: "v".repeat(SDP_MAX_LENGTH) } }, { type: "callDescription", sdp: { type: "offer", sdp: "v".repeat(SDP_MAX_LENGTH) } }],
  ];
  it.each(accepted)("%s", (_spec, schema, input, output) => {
    expect(v.parse(schema, input)).toEqual(output);
  });

  const refused: [string, v.GenericSchema, Record<string, unknown>][] = [
    ["call refuses a missing sdpOffer", CallSchema, { type: "call", calleeID: "bob" }],
    ["call refuses an empty sdpOffer", CallSchema, { type: "call", calleeID: "bob", sdpOffer: "" }],
    ["incomingCallResponse refuses an unknown answer", IncomingCallResponseSchema, { type: "incomingCallResponse", callerID: "alice", callResponse: "maybe" }],
    ["incomingCallResponse refuses a malformed callId", IncomingCallResponseSchema, { type: "incomingCallResponse", callerID: "alice", callResponse: "rejected", callId: "c 1" }],
    ["stop refuses a server-only reason", StopSchema, { type: "stop", reason: "disconnected" }],
    ["onIceCandidate refuses a bare string candidate", OnIceCandidateSchema, { type: "onIceCandidate", candidate: "candidate:1" }],
    ["callDescription refuses a pranswer", CallDescriptionSchema, { type: "callDescription", sdp: { type: "pranswer", sdp: OFFER } }],
    ["callDescription refuses a bare SDP string", CallDescriptionSchema, { type: "callDescription", sdp: OFFER }],
    ["callDescription refuses an empty SDP", CallDescriptionSchema, { type: "callDescription", sdp: { type: "offer", sdp: "" } }],
    ["callDescription refuses an SDP over the room family's bound", CallDescriptionSchema, { type: "callDescription", sdp: { type: "offer", sdp: "v".repeat(SDP_MAX_LENGTH + 1) } }],
  ];
  it.each(refused)("%s", (_spec, schema, input) => {
    expect(v.safeParse(schema, input).success).toBe(false);
  });
});
