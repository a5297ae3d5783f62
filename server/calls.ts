/**
 * Call registry: the pure state of one-to-one calls (the call family of the protocol): rings,
 * accepted calls, their `ending` periods and the ICE candidates held while a call rings, with no
 * sockets and no clock. Who is logged in, and their presence status, is the login directory's
 * ({@link Logins}, server/logins.ts): the registry looks users up there and sets the status of the
 * users it rings, connects and frees.
 *
 * Every operation returns what the server must do as plain data, in the one effects shape
 * (server/effects.ts): messages to send ({@link CallDelivery}), timers to start or cancel
 * ({@link TimerCommand}) and the directory entries whose status it changed ({@link PresenceChanges}).
 * Presence is not sent from here: the changes go to the presence fan-out (server/presence.ts), which
 * coalesces them so that a burst of calls costs each logged-in connection one frame per window, not
 * one per change. Time enters only through {@link CallRegistry.timerFired}, called by the effects
 * applier when a timer it was asked to start runs out; a timer that fires after its call has moved
 * on is ignored, so cancelling is hygiene, not correctness.
 *
 * The registry knows connections only by id and never learns of a socket closing by itself: a
 * connection whose socket was lost abruptly stays logged in (its calls ring and continue, what it
 * is sent is buffered by the session layer) until the session layer resumes it under the same id,
 * or its login ends (the grace window ran out, or a newer login took the user id over) and the
 * registry is told so through {@link CallRegistry.loginEnded}.
 *
 * Like the room registry, each call here is atomic on uWebSockets.js's single thread: two users
 * calling each other "at the same moment" are two calls in some order, and the second caller finds
 * the first one ringing it.
 */
import type { CallClientMessage, CallServerMessage, StopReason } from "../shared/protocol/call.ts";
import type { ErrorCode } from "../shared/protocol/errors.ts";
import { refusesIncomingCalls, type PresenceStatus, type PresenceUser } from "../shared/protocol/presence.ts";
import { assertNever } from "../shared/protocol/index.ts";
import type { IceCandidate, SessionDescription } from "../shared/protocol/room.ts";
import type { Delivery, Effects, TimerCommand } from "./effects.ts";
import type { PresenceChanges } from "./presence.ts";
import type { Logins } from "./stores.ts";
/** How long a call rings before the caller gets `NotResponse` and the callee a missed call. */
export const RING_TIMEOUT_MS = 30_000;

/**
 * How long both parties of an accepted call stay `ending` after it ends, the time their browsers
 * take to close the peer connection. An `ending` user is not rung but may place a call itself.
 */
export const ENDING_MS = 1_000;

/**
 * ICE candidates the server holds for one user of a ringing call. The caller trickles candidates
 * while the callee has no peer connection yet; they are delivered right after the acceptance
 * instead of being lost. A browser gathers a handful per network interface and ICE server, so 64
 * is several times a real call's; one more is refused with `too_many_candidates`.
 */
export const MAX_PENDING_CANDIDATES = 64;

/**
 * Characters of ICE candidates (`candidate` + `sdpMid` + `usernameFragment`) the server holds for
 * one user of a ringing call. With the schema caps (1024 + 64 + 256 per candidate) the count bound
 * alone would allow 84 Ki characters; real candidates are 100 to 300, so 64 of them fit in half of
 * this. At most 2 bytes per character in V8's strings: 64 KiB of text per connection, for up to
 * the ring timeout.
 */
export const MAX_PENDING_CANDIDATE_CHARS = 32 * 1024;

/** One call-family message for one connection, identified by its server-assigned id. */
export type CallDelivery = Delivery<CallServerMessage>;

/**
 * Timer commands (ids `ring:<call>` and `ending:<call>`): the applier calls
 * {@link CallRegistry.timerFired} with the id once a started timer runs out.
 */
export type { TimerCommand };

/**
 * Everything an accepted operation asks of the server, in the one effects shape (applied in order:
 * deliveries, presence, timer commands), with every field it uses present. The registry closes no
 * connection.
 */
export interface CallEffects extends Effects<CallServerMessage> {
  timers: TimerCommand[];
  /**
   * The directory entries whose status changed, computed from the final state (the audience
   * itself changes only through the login directory).
   */
  presence: PresenceChanges;
}

/**
 * Result of an operation: its effects, or an error code for the sender alone. A refused operation
 * changes nothing.
 */
export type CallResult = CallAccepted | { ok: false; code: ErrorCode; message: string };

/** An accepted operation's result: its effects. */
export type CallAccepted = { ok: true } & CallEffects;

/** Options of a {@link CallRegistry}. */
export interface CallRegistryOptions {
  /** Defaults to {@link RING_TIMEOUT_MS}; must be positive. */
  ringTimeoutMs?: number;
  /** Defaults to {@link ENDING_MS}; 0 skips the `ending` status (straight back to `online`). */
  endingMs?: number;
  /** Per user of a ringing call; defaults to {@link MAX_PENDING_CANDIDATES}. */
  maxPendingCandidates?: number;
  /** Per user of a ringing call; defaults to {@link MAX_PENDING_CANDIDATE_CHARS}. */
  maxPendingCandidateChars?: number;
}

/** Counts for health and metrics. */
export interface CallStats {
  ringingCalls: number;
  activeCalls: number;
}

/** One party of a call: its connection, and the user id it called or was called as. */
interface Party {
  readonly connectionId: string;
  readonly userID: string;
}

interface Call {
  readonly id: string;
  readonly caller: Party;
  readonly callee: Party;
  phase: "ringing" | "active";
  /**
   * Candidates received while ringing, delivered in order once the call is accepted. Each sender's
   * share is bounded by count and characters ({@link MAX_PENDING_CANDIDATES},
   * {@link MAX_PENDING_CANDIDATE_CHARS}); `chars` is that candidate's contribution.
   */
  readonly pending: { to: Party; candidate: IceCandidate; chars: number }[];
}

/** Timer id prefixes; see `timerOwner` in server/effects.ts. */
const RING_TIMER = "ring:";
const ENDING_TIMER = "ending:";

/**
 * Every call, ringing or accepted, and the `ending` periods after them, between the users of one
 * {@link Logins} directory.
 */
export class CallRegistry {
  readonly #logins: Logins;
  /** call id → call, ringing or active. */
  readonly #calls = new Map<string, Call>();
  /** connection id → the call it is ringing in or talking in; its status is connecting/in_call. */
  readonly #callOf = new Map<string, Call>();
  /** connection id → the ended call whose `ending` timer will bring it back online. */
  readonly #endingOf = new Map<string, string>();
  /** ended call id → its parties, while their `ending` timer runs. */
  readonly #endings = new Map<string, Party[]>();
  readonly #ringTimeoutMs: number;
  readonly #endingMs: number;
  readonly #maxPendingCandidates: number;
  readonly #maxPendingCandidateChars: number;
  #lastCallNumber = 0;

  /** Calls between the users of `logins`, whose statuses this registry sets. */
  constructor(logins: Logins, options: CallRegistryOptions = {}) {
    this.#logins = logins;
    this.#ringTimeoutMs = options.ringTimeoutMs ?? RING_TIMEOUT_MS;
    this.#endingMs = options.endingMs ?? ENDING_MS;
    this.#maxPendingCandidates = options.maxPendingCandidates ?? MAX_PENDING_CANDIDATES;
    this.#maxPendingCandidateChars = options.maxPendingCandidateChars ?? MAX_PENDING_CANDIDATE_CHARS;
    if (!(this.#ringTimeoutMs > 0) || !(this.#endingMs >= 0) || !(this.#maxPendingCandidates >= 0) || !(this.#maxPendingCandidateChars >= 0)) {
      throw new RangeError("ringTimeoutMs must be positive; endingMs, maxPendingCandidates and maxPendingCandidateChars non-negative");
    }
  }

  /** Applies one decoded client message from `connectionId`. */
  handle(connectionId: string, message: CallClientMessage): CallResult {
    switch (message.type) {
      case "call":
        return this.#call(connectionId, message.calleeID, message.sdpOffer);
      case "incomingCallResponse":
        return this.#answer(connectionId, message);
      case "stopCall":
        return this.#stop(connectionId, message.type, "normal");
      case "stop":
        return this.#stop(connectionId, message.type, message.reason ?? "normal");
      case "onIceCandidate":
        return this.#iceCandidate(connectionId, message.candidate);
      case "callDescription":
        return this.#callDescription(connectionId, message.sdp);
      default:
        return assertNever(message);
    }
  }

  /**
   * Ends the call of `connectionId`, whose login the directory has just ended: a newer login took
   * its user id over (`replaced`), or its session ended (`disconnected`: its socket closed, or its
   * grace window ran out without a resume). The other party is told as if the connection had
   * dropped, with `reason`. Call it after the directory's operation (so that the ended login is
   * no directory entry any more) and apply its effects before the directory's: the call ends, then
   * the login goes. A no-op for a connection in no call.
   */
  loginEnded(connectionId: string, reason: "replaced" | "disconnected"): CallAccepted {
    const out = new Outcome();
    this.#hangUp(connectionId, reason, out);
    this.#leaveEnding(connectionId, out);
    return this.#finish(out);
  }

  /**
   * Runs the expiry of a timer this registry asked for: a ring that nobody answered (caller
   * `NotResponse`, callee `incomingCallNotResponse`) or the end of an `ending` period. A timer whose
   * call has moved on does nothing.
   */
  timerFired(timerId: string): CallAccepted {
    const out = new Outcome();
    if (timerId.startsWith(RING_TIMER)) {
      const call = this.#calls.get(timerId.slice(RING_TIMER.length));
      if (call?.phase === "ringing") {
        out.deliver(call.caller.connectionId, { type: "callResponse", callResponse: "NotResponse", calleeID: call.callee.userID });
        out.deliver(call.callee.connectionId, { type: "incomingCallNotResponse", callId: call.id, callerID: call.caller.userID });
        this.#closeCall(call, "online", out);
      }
    } else if (timerId.startsWith(ENDING_TIMER)) {
      const callId = timerId.slice(ENDING_TIMER.length);
      for (const party of this.#endings.get(callId) ?? []) {
        if (this.#endingOf.get(party.connectionId) === callId) {
          this.#endingOf.delete(party.connectionId);
          this.#setStatus(party, "online", out);
        }
      }
      this.#endings.delete(callId);
    }
    return this.#finish(out);
  }

  /** Current number of calls. */
  stats(): CallStats {
    let ringingCalls = 0;
    for (const call of this.#calls.values()) {
      if (call.phase === "ringing") {
        ringingCalls += 1;
      }
    }
    return { ringingCalls, activeCalls: this.#calls.size - ringingCalls };
  }

  /**
   * The operation's effects, with the directory entries it changed as they are now: each entry
   * whose status changed and that is still logged in, in order of first change.
   */
  #finish(out: Outcome): CallAccepted {
    const updated: PresenceUser[] = [];
    for (const connectionId of out.changed) {
      const entry = this.#logins.presenceOf(connectionId);
      if (entry) {
        updated.push(entry);
      }
    }
    return { ok: true, deliveries: out.deliveries, timers: out.timers, presence: { unsubscribed: [], left: [], updated } };
  }

  #call(connectionId: string, calleeID: string, sdpOffer: string): CallResult {
    const login = this.#logins.loginOf(connectionId);
    if (!login) {
      return notLoggedIn("call");
    }
    if (calleeID === login.userID) {
      return refuse("self_target", "a user cannot call itself");
    }
    const out = new Outcome();
    const current = this.#callOf.get(connectionId);
    if (current) {
      if (current.phase === "ringing" && current.callee.connectionId === connectionId) {
        // Glare: the other side's call reached the server first and is ringing this caller.
        out.deliver(connectionId, { type: "callResponse", callResponse: "inCalling", calleeID });
        return this.#finish(out);
      }
      return refuse("invalid_state", "this user is already in a call; send stop first");
    }
    const calleeConnection = this.#logins.connectionOf(calleeID);
    const calleeEntry = calleeConnection === undefined ? undefined : this.#logins.presenceOf(calleeConnection);
    if (calleeConnection === undefined || !calleeEntry) {
      out.deliver(connectionId, { type: "callResponse", callResponse: "notOnline", calleeID });
      return this.#finish(out);
    }
    if (refusesIncomingCalls(calleeEntry.status)) {
      out.deliver(connectionId, { type: "callResponse", callResponse: "inCalling", calleeID });
      return this.#finish(out);
    }
    this.#lastCallNumber += 1;
    const caller: Party = { connectionId, userID: login.userID };
    const callee: Party = { connectionId: calleeConnection, userID: calleeID };
    const call: Call = { id: `c${this.#lastCallNumber}`, caller, callee, phase: "ringing", pending: [] };
    this.#calls.set(call.id, call);
    this.#leaveEnding(connectionId, out);
    this.#callOf.set(caller.connectionId, call);
    this.#callOf.set(callee.connectionId, call);
    out.deliver(callee.connectionId, {
      type: "incomingCall",
      callId: call.id,
      callerID: login.userID,
      username: login.username,
      avatar: login.avatar ?? "",
      sdpOffer,
    });
    this.#setStatus(caller, "connecting", out);
    this.#setStatus(callee, "connecting", out);
    out.timer({ op: "start", timerId: RING_TIMER + call.id, delayMs: this.#ringTimeoutMs });
    return this.#finish(out);
  }

  #answer(connectionId: string, message: Extract<CallClientMessage, { type: "incomingCallResponse" }>): CallResult {
    if (!this.#logins.loginOf(connectionId)) {
      return notLoggedIn("incomingCallResponse");
    }
    const call = this.#callOf.get(connectionId);
    const matches =
      call !== undefined &&
      call.callee.connectionId === connectionId &&
      call.caller.userID === message.callerID &&
      (message.callId === undefined || message.callId === call.id);
    if (!matches) {
      // Typically the caller cancelled, timed out or dropped a moment before: the callee has been
      // (or is being) sent incomingCallStopped / incomingCallNotResponse for that ring.
      return refuse("not_in_call", `no call from "${message.callerID}" is ringing this user`);
    }
    if (call.phase === "active") {
      return refuse("invalid_state", "this call was already accepted");
    }
    const out = new Outcome();
    switch (message.callResponse) {
      case "accepted": {
        const sdpAnswer = message.sdpAnswer ?? message.sdpOffer;
        if (sdpAnswer === undefined) {
          return refuse("bad_message", "an accepted incomingCallResponse needs sdpAnswer");
        }
        call.phase = "active";
        out.timer({ op: "cancel", timerId: RING_TIMER + call.id });
        out.deliver(call.caller.connectionId, { type: "callResponse", callResponse: "accepted", calleeID: call.callee.userID, sdpAnswer });
        out.deliver(call.callee.connectionId, { type: "startCommunication", callId: call.id, callerID: call.caller.userID });
        for (const { to, candidate } of call.pending.splice(0)) {
          out.deliver(to.connectionId, { type: "iceCandidate", candidate });
        }
        this.#setStatus(call.caller, "in_call", out);
        this.#setStatus(call.callee, "in_call", out);
        break;
      }
      case "rejected":
        this.#hangUp(connectionId, "normal", out);
        break;
      case "exception":
        this.#hangUp(connectionId, "exception", out);
        break;
      default:
        return assertNever(message.callResponse);
    }
    return this.#finish(out);
  }

  /** `stop` and `stopCall`: hang up whatever call the sender is in; nothing to hang up is fine. */
  #stop(connectionId: string, type: "stop" | "stopCall", reason: StopReason): CallResult {
    if (!this.#logins.loginOf(connectionId)) {
      return notLoggedIn(type);
    }
    const out = new Outcome();
    this.#hangUp(connectionId, reason, out);
    return this.#finish(out);
  }

  #iceCandidate(connectionId: string, candidate: IceCandidate): CallResult {
    if (!this.#logins.loginOf(connectionId)) {
      return notLoggedIn("onIceCandidate");
    }
    const call = this.#callOf.get(connectionId);
    if (!call) {
      return refuse("not_in_call", "onIceCandidate needs a call in progress");
    }
    const other = otherParty(call, connectionId);
    const out = new Outcome();
    if (call.phase === "ringing") {
      // This user's share of what the call holds: at most 2 × maxPendingCandidates entries to scan.
      const chars = candidateChars(candidate);
      let heldCount = 0;
      let heldChars = 0;
      for (const held of call.pending) {
        if (held.to === other) {
          heldCount += 1;
          heldChars += held.chars;
        }
      }
      if (heldCount >= this.#maxPendingCandidates || heldChars + chars > this.#maxPendingCandidateChars) {
        return refuse(
          "too_many_candidates",
          `the server holds at most ${this.#maxPendingCandidates} candidates (${this.#maxPendingCandidateChars} characters) per user before the call is accepted`,
        );
      }
      call.pending.push({ to: other, candidate, chars });
    } else {
      out.deliver(other.connectionId, { type: "iceCandidate", candidate });
    }
    return this.#finish(out);
  }

  /**
   * `callDescription`: relays a renegotiation offer or answer, unchanged, to the other party of an
   * accepted call. While the call rings the first offer and answer are still on their way in
   * `call` and `incomingCallResponse`, so another description would race them: `invalid_state`.
   */
  #callDescription(connectionId: string, sdp: SessionDescription): CallResult {
    if (!this.#logins.loginOf(connectionId)) {
      return notLoggedIn("callDescription");
    }
    const call = this.#callOf.get(connectionId);
    if (!call) {
      return refuse("not_in_call", "callDescription needs an accepted call");
    }
    if (call.phase === "ringing") {
      return refuse("invalid_state", "callDescription needs an accepted call; this one is still ringing");
    }
    const out = new Outcome();
    out.deliver(otherParty(call, connectionId).connectionId, { type: "callDescription", sdp });
    return this.#finish(out);
  }

  /**
   * Takes `connectionId` out of its call, if any, telling the other party what the call protocol (docs/protocol-calls.md) says:
   * - ringing, it is the caller: callee `incomingCallStopped` (a missed call);
   * - ringing, it is the callee: caller `callResponse` `rejected` (it said no), `exception`
   *   (its media failed) or `notOnline` (its connection went away);
   * - accepted: the other `stopCommunication {reason}`, and both become `ending`.
   */
  #hangUp(connectionId: string, reason: StopReason, out: Outcome): void {
    const call = this.#callOf.get(connectionId);
    if (!call) {
      return;
    }
    if (call.phase === "ringing") {
      if (call.caller.connectionId === connectionId) {
        out.deliver(call.callee.connectionId, { type: "incomingCallStopped", callId: call.id, callerID: call.caller.userID });
      } else {
        const callResponse = reason === "normal" ? "rejected" : reason === "exception" ? "exception" : "notOnline";
        out.deliver(call.caller.connectionId, { type: "callResponse", callResponse, calleeID: call.callee.userID });
      }
      out.timer({ op: "cancel", timerId: RING_TIMER + call.id });
      this.#closeCall(call, "online", out);
      return;
    }
    out.deliver(otherParty(call, connectionId).connectionId, { type: "stopCommunication", reason });
    this.#closeCall(call, this.#endingMs > 0 ? "ending" : "online", out);
  }

  /** Forgets `call` and moves both parties to `next`, starting the `ending` timer when needed. */
  #closeCall(call: Call, next: "online" | "ending", out: Outcome): void {
    this.#calls.delete(call.id);
    for (const party of [call.caller, call.callee]) {
      this.#callOf.delete(party.connectionId);
      if (next === "ending") {
        this.#endingOf.set(party.connectionId, call.id);
      }
      this.#setStatus(party, next, out);
    }
    if (next === "ending") {
      this.#endings.set(call.id, [call.caller, call.callee]);
      out.timer({ op: "start", timerId: ENDING_TIMER + call.id, delayMs: this.#endingMs });
    }
  }

  /** Ends the `ending` period of `connectionId` early (it places a call or its login ended). */
  #leaveEnding(connectionId: string, out: Outcome): void {
    const callId = this.#endingOf.get(connectionId);
    if (callId === undefined) {
      return;
    }
    this.#endingOf.delete(connectionId);
    const parties = this.#endings.get(callId) ?? [];
    if (!parties.some((party) => this.#endingOf.get(party.connectionId) === callId)) {
      this.#endings.delete(callId);
      out.timer({ op: "cancel", timerId: ENDING_TIMER + callId });
    }
  }

  /** Sets `party`'s status in the directory; a party whose login ended is no entry any more. */
  #setStatus(party: Party, status: PresenceStatus, out: Outcome): void {
    if (this.#logins.setStatus(party.connectionId, status)) {
      out.changedEntry(party.connectionId);
    }
  }
}

/** Collects one operation's effects; {@link CallRegistry} turns them into a {@link CallResult}. */
class Outcome {
  readonly deliveries: CallDelivery[] = [];
  readonly timers: TimerCommand[] = [];
  /** Connections whose directory entry changed, each once, in order of first change. */
  readonly changed: string[] = [];

  deliver(to: string, message: CallServerMessage): void {
    this.deliveries.push({ to, message });
  }

  timer(command: TimerCommand): void {
    this.timers.push(command);
  }

  changedEntry(connectionId: string): void {
    if (!this.changed.includes(connectionId)) {
      this.changed.push(connectionId);
    }
  }
}

/** The party of `call` that is not `connectionId`. */
function otherParty(call: Call, connectionId: string): Party {
  return call.caller.connectionId === connectionId ? call.callee : call.caller;
}

/** What a held candidate counts against {@link MAX_PENDING_CANDIDATE_CHARS}: its strings' lengths. */
function candidateChars(candidate: IceCandidate): number {
  return candidate.candidate.length + (candidate.sdpMid?.length ?? 0) + (candidate.usernameFragment?.length ?? 0);
}

function refuse(code: ErrorCode, message: string): CallResult {
  return { ok: false, code, message };
}

function notLoggedIn(type: string): CallResult {
  return refuse("not_logged_in", `${type} needs login first`);
}
