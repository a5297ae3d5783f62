/**
 * Call registry: the pure state of who is logged in, their presence status and their one-to-one
 * calls (the presence and call families of the protocol), with no sockets and no clock.
 *
 * Every operation returns what the server must do as plain data, in the one effects shape (server/effects.ts): messages to send
 * ({@link CallDelivery}), timers to start or cancel ({@link TimerCommand}), connections to close
 * ({@link CloseCommand}) and the directory changes it made ({@link PresenceChanges}). Presence is
 * not sent from here: the changes go to the presence fan-out (server/presence.ts), which coalesces
 * them so that a burst of calls costs each logged-in connection one frame per window, not one per
 * change. Time enters only through {@link CallRegistry.timerFired}, called by the effects applier when
 * a timer it was asked to start runs out; a timer that fires after its call has moved on is
 * ignored, so cancelling is hygiene, not correctness.
 *
 * The registry knows connections only by id and never learns of a socket closing by itself: a
 * connection whose socket was lost abruptly stays logged in (its calls ring and continue, what it
 * is sent is buffered by the session layer) until the session layer resumes it under the same id or
 * calls {@link CallRegistry.disconnect} when its grace window ends.
 *
 * Like the room registry, each call here is atomic on uWebSockets.js's single thread: two users
 * calling each other "at the same moment" are two calls in some order, and the second caller finds
 * the first one ringing it.
 */
import type { CallClientMessage, CallServerMessage, StopReason } from "../shared/protocol/call.ts";
import type { CommonServerMessage } from "../shared/protocol/common.ts";
import { CLOSE_CODES, type ErrorCode } from "../shared/protocol/errors.ts";
import {
  refusesIncomingCalls,
  type LoginMessage,
  type PresenceServerMessage,
  type PresenceStatus,
  type PresenceUser,
} from "../shared/protocol/presence.ts";
import { assertNever } from "../shared/protocol/index.ts";
import type { IceCandidate, SessionDescription } from "../shared/protocol/room.ts";
import type { CloseCommand, Delivery, Effects, TimerCommand } from "./effects.ts";
import type { PresenceChanges } from "./presence.ts";

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

/** A client message this module handles. */
export type CallsClientMessage = LoginMessage | CallClientMessage;

/**
 * A server message this module produces: the call family, plus `loginResponse` and `loggedOut`
 * (directory messages come from the presence fan-out, server/presence.ts).
 */
export type CallsServerMessage = CallServerMessage | PresenceServerMessage;

/** Who a connection is logged in as: what `loginResponse accepted` and `resumed.login` state. */
export interface LoginIdentity {
  userID: string;
  username: string;
  avatar?: string;
}

/** One message for one connection, identified by its server-assigned id. */
export type CallDelivery = Delivery<CallsServerMessage>;

/**
 * Timer commands (ids `ring:<call>` and `ending:<call>`): the applier calls
 * {@link CallRegistry.timerFired} with the id once a started timer runs out.
 */
export type { CloseCommand, TimerCommand };

/**
 * Everything an accepted operation asks of the server, in the one effects shape (applied in order:
 * deliveries, presence, timer commands, closes), with every field present.
 */
export interface CallEffects extends Effects<CallsServerMessage> {
  timers: TimerCommand[];
  closes: CloseCommand[];
  /** How the directory and its audience changed, computed from the final state. */
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
  users: number;
  ringingCalls: number;
  activeCalls: number;
}

/** A logged-in connection. Replaced by a new object when another connection takes the user id. */
interface User {
  readonly connectionId: string;
  readonly userID: string;
  readonly username: string;
  readonly avatar: string | undefined;
  status: PresenceStatus;
  /** The call this user is ringing in or talking in; set exactly when status is connecting/in_call. */
  call: Call | undefined;
  /** The ended call whose `ending` timer will bring this user back online. */
  endingCallId: string | undefined;
}

interface Call {
  readonly id: string;
  readonly caller: User;
  readonly callee: User;
  phase: "ringing" | "active";
  /**
   * Candidates received while ringing, delivered in order once the call is accepted. Each sender's
   * share is bounded by count and characters ({@link MAX_PENDING_CANDIDATES},
   * {@link MAX_PENDING_CANDIDATE_CHARS}); `chars` is that candidate's contribution.
   */
  readonly pending: { to: User; candidate: IceCandidate; chars: number }[];
}

/** Timer id prefixes; see `timerOwner` in server/effects.ts. */
const RING_TIMER = "ring:";
const ENDING_TIMER = "ending:";

/**
 * Every logged-in user, their presence status and their calls. One server-wide lobby: every
 * logged-in connection sees every user and receives every change, its own included.
 */
export class CallRegistry {
  /** connection id → user, in login order. */
  readonly #byConnection = new Map<string, User>();
  /** user id → user; login order, a replacing login keeping the replaced user's place. */
  readonly #byUserID = new Map<string, User>();
  /** call id → call, ringing or active. */
  readonly #calls = new Map<string, Call>();
  /** ended call id → its parties, while their `ending` timer runs. */
  readonly #endings = new Map<string, User[]>();
  readonly #ringTimeoutMs: number;
  readonly #endingMs: number;
  readonly #maxPendingCandidates: number;
  readonly #maxPendingCandidateChars: number;
  #lastCallNumber = 0;

  constructor(options: CallRegistryOptions = {}) {
    this.#ringTimeoutMs = options.ringTimeoutMs ?? RING_TIMEOUT_MS;
    this.#endingMs = options.endingMs ?? ENDING_MS;
    this.#maxPendingCandidates = options.maxPendingCandidates ?? MAX_PENDING_CANDIDATES;
    this.#maxPendingCandidateChars = options.maxPendingCandidateChars ?? MAX_PENDING_CANDIDATE_CHARS;
    if (!(this.#ringTimeoutMs > 0) || !(this.#endingMs >= 0) || !(this.#maxPendingCandidates >= 0) || !(this.#maxPendingCandidateChars >= 0)) {
      throw new RangeError("ringTimeoutMs must be positive; endingMs, maxPendingCandidates and maxPendingCandidateChars non-negative");
    }
  }

  /** Applies one decoded client message from `connectionId`. */
  handle(connectionId: string, message: CallsClientMessage): CallResult {
    switch (message.type) {
      case "login":
        return this.#login(connectionId, message);
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
   * Forgets `connectionId` because its session ended (its socket closed, or its grace window ran
   * out without a resume): its call ends for the other party (reason `disconnected`) and everyone
   * else sees it leave. A no-op for a connection that never logged in
   * or was already replaced.
   */
  disconnect(connectionId: string): CallAccepted {
    const user = this.#byConnection.get(connectionId);
    const out = new Outcome();
    if (user) {
      this.#hangUp(user, "disconnected", out);
      this.#leaveEnding(user, out);
      this.#byConnection.delete(connectionId);
      this.#byUserID.delete(user.userID);
      out.unsubscribe(connectionId);
      out.left(user.userID);
    }
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
      for (const user of this.#endings.get(callId) ?? []) {
        if (user.endingCallId === callId && user.status === "ending") {
          user.endingCallId = undefined;
          this.#setStatus(user, "online", out);
        }
      }
      this.#endings.delete(callId);
    }
    return this.#finish(out);
  }

  /** The directory: every online user in login order. */
  directory(): PresenceUser[] {
    return [...this.#byUserID.values()].map(toPresenceUser);
  }

  /** Status of `userID`, or undefined when it is offline. */
  statusOf(userID: string): PresenceStatus | undefined {
    return this.#byUserID.get(userID)?.status;
  }

  /** The user id `connectionId` logged in with, if it did and was not replaced since. */
  userIdOf(connectionId: string): string | undefined {
    return this.#byConnection.get(connectionId)?.userID;
  }

  /** The login of `connectionId` as `loginResponse accepted` stated it, if it is logged in. */
  loginOf(connectionId: string): LoginIdentity | undefined {
    const user = this.#byConnection.get(connectionId);
    if (!user) {
      return undefined;
    }
    return user.avatar === undefined
      ? { userID: user.userID, username: user.username }
      : { userID: user.userID, username: user.username, avatar: user.avatar };
  }

  /** Ids of every logged-in connection, in login order: the audience of presence changes. */
  connectionIds(): string[] {
    return [...this.#byConnection.keys()];
  }

  /** Current number of users and calls. */
  stats(): CallStats {
    let ringingCalls = 0;
    for (const call of this.#calls.values()) {
      if (call.phase === "ringing") {
        ringingCalls += 1;
      }
    }
    return { users: this.#byUserID.size, ringingCalls, activeCalls: this.#calls.size - ringingCalls };
  }

  /** True while `user` is the one registered under its user id (not replaced, not gone). */
  #isCurrent(user: User): boolean {
    return this.#byUserID.get(user.userID) === user;
  }

  /**
   * Adds the operation's directory changes, computed from the final state: the entry of every user
   * that changed and is still the one registered under its id (a replaced or departed user object
   * is no entry), and every user id gone and not back.
   */
  #finish(out: Outcome): CallAccepted {
    const updated: PresenceUser[] = [];
    for (const user of out.changedUsers) {
      if (this.#isCurrent(user)) {
        updated.push(toPresenceUser(user));
      }
    }
    const left = out.leftUserIDs.filter((userID) => !this.#byUserID.has(userID));
    const presence: PresenceChanges = { unsubscribed: out.unsubscribed, left, updated };
    if (out.subscribed !== undefined) {
      presence.subscribed = out.subscribed;
    }
    return { ok: true, deliveries: out.deliveries, timers: out.timers, closes: out.closes, presence };
  }

  #login(connectionId: string, message: LoginMessage): CallResult {
    const current = this.#byConnection.get(connectionId);
    if (current) {
      return refuse("already_logged_in", `this connection is already logged in as "${current.userID}"`);
    }
    const out = new Outcome();
    const replaced = this.#byUserID.get(message.userID);
    if (replaced) {
      // The newer login wins: the older connection's call ends as if it had dropped, then it is
      // told why and closed, so the user id is never online twice.
      this.#hangUp(replaced, "replaced", out);
      this.#leaveEnding(replaced, out);
      this.#byConnection.delete(replaced.connectionId);
      out.unsubscribe(replaced.connectionId);
      out.deliver(replaced.connectionId, { type: "loggedOut", reason: "replaced" });
      out.close({ connectionId: replaced.connectionId, code: CLOSE_CODES.replaced, reason: "replaced" });
    }
    const user: User = {
      connectionId,
      userID: message.userID,
      username: message.username ?? message.userID,
      avatar: message.avatar,
      status: "online",
      call: undefined,
      endingCallId: undefined,
    };
    this.#byConnection.set(connectionId, user);
    this.#byUserID.set(user.userID, user);
    const accepted: PresenceServerMessage = { type: "loginResponse", content: "accepted", userID: user.userID, username: user.username };
    if (user.avatar !== undefined) {
      accepted.avatar = user.avatar;
    }
    out.deliver(connectionId, accepted);
    out.subscribe(connectionId);
    out.changed(user);
    return this.#finish(out);
  }

  #call(connectionId: string, calleeID: string, sdpOffer: string): CallResult {
    const caller = this.#byConnection.get(connectionId);
    if (!caller) {
      return notLoggedIn("call");
    }
    if (calleeID === caller.userID) {
      return refuse("self_target", "a user cannot call itself");
    }
    const out = new Outcome();
    if (caller.call) {
      if (caller.call.phase === "ringing" && caller.call.callee === caller) {
        // Glare: the other side's call reached the server first and is ringing this caller.
        out.deliver(connectionId, { type: "callResponse", callResponse: "inCalling", calleeID });
        return this.#finish(out);
      }
      return refuse("invalid_state", "this user is already in a call; send stop first");
    }
    const callee = this.#byUserID.get(calleeID);
    if (!callee) {
      out.deliver(connectionId, { type: "callResponse", callResponse: "notOnline", calleeID });
      return this.#finish(out);
    }
    if (refusesIncomingCalls(callee.status)) {
      out.deliver(connectionId, { type: "callResponse", callResponse: "inCalling", calleeID });
      return this.#finish(out);
    }
    this.#lastCallNumber += 1;
    const call: Call = { id: `c${this.#lastCallNumber}`, caller, callee, phase: "ringing", pending: [] };
    this.#calls.set(call.id, call);
    this.#leaveEnding(caller, out);
    caller.call = call;
    callee.call = call;
    out.deliver(callee.connectionId, {
      type: "incomingCall",
      callId: call.id,
      callerID: caller.userID,
      username: caller.username,
      avatar: caller.avatar ?? "",
      sdpOffer,
    });
    this.#setStatus(caller, "connecting", out);
    this.#setStatus(callee, "connecting", out);
    out.timer({ op: "start", timerId: RING_TIMER + call.id, delayMs: this.#ringTimeoutMs });
    return this.#finish(out);
  }

  #answer(connectionId: string, message: Extract<CallClientMessage, { type: "incomingCallResponse" }>): CallResult {
    const callee = this.#byConnection.get(connectionId);
    if (!callee) {
      return notLoggedIn("incomingCallResponse");
    }
    const call = callee.call;
    const matches =
      call !== undefined &&
      call.callee === callee &&
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
        out.deliver(call.caller.connectionId, { type: "callResponse", callResponse: "accepted", calleeID: callee.userID, sdpAnswer });
        out.deliver(callee.connectionId, { type: "startCommunication", callId: call.id, callerID: call.caller.userID });
        for (const { to, candidate } of call.pending.splice(0)) {
          out.deliver(to.connectionId, { type: "iceCandidate", candidate });
        }
        this.#setStatus(call.caller, "in_call", out);
        this.#setStatus(callee, "in_call", out);
        break;
      }
      case "rejected":
        this.#hangUp(callee, "normal", out);
        break;
      case "exception":
        this.#hangUp(callee, "exception", out);
        break;
      default:
        return assertNever(message.callResponse);
    }
    return this.#finish(out);
  }

  /** `stop` and `stopCall`: hang up whatever call the sender is in; nothing to hang up is fine. */
  #stop(connectionId: string, type: "stop" | "stopCall", reason: StopReason): CallResult {
    const user = this.#byConnection.get(connectionId);
    if (!user) {
      return notLoggedIn(type);
    }
    const out = new Outcome();
    this.#hangUp(user, reason, out);
    return this.#finish(out);
  }

  #iceCandidate(connectionId: string, candidate: IceCandidate): CallResult {
    const user = this.#byConnection.get(connectionId);
    if (!user) {
      return notLoggedIn("onIceCandidate");
    }
    const call = user.call;
    if (!call) {
      return refuse("not_in_call", "onIceCandidate needs a call in progress");
    }
    const other = call.caller === user ? call.callee : call.caller;
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
    const user = this.#byConnection.get(connectionId);
    if (!user) {
      return notLoggedIn("callDescription");
    }
    const call = user.call;
    if (!call) {
      return refuse("not_in_call", "callDescription needs an accepted call");
    }
    if (call.phase === "ringing") {
      return refuse("invalid_state", "callDescription needs an accepted call; this one is still ringing");
    }
    const other = call.caller === user ? call.callee : call.caller;
    const out = new Outcome();
    out.deliver(other.connectionId, { type: "callDescription", sdp });
    return this.#finish(out);
  }

  /**
   * Takes `user` out of its call, if any, telling the other party what the call protocol (docs/protocol-calls.md) says:
   * - ringing, `user` is the caller: callee `incomingCallStopped` (a missed call);
   * - ringing, `user` is the callee: caller `callResponse` `rejected` (it said no), `exception`
   *   (its media failed) or `notOnline` (its connection went away);
   * - accepted: the other `stopCommunication {reason}`, and both become `ending`.
   */
  #hangUp(user: User, reason: StopReason, out: Outcome): void {
    const call = user.call;
    if (!call) {
      return;
    }
    if (call.phase === "ringing") {
      if (call.caller === user) {
        out.deliver(call.callee.connectionId, { type: "incomingCallStopped", callId: call.id, callerID: user.userID });
      } else {
        const callResponse = reason === "normal" ? "rejected" : reason === "exception" ? "exception" : "notOnline";
        out.deliver(call.caller.connectionId, { type: "callResponse", callResponse, calleeID: user.userID });
      }
      out.timer({ op: "cancel", timerId: RING_TIMER + call.id });
      this.#closeCall(call, "online", out);
      return;
    }
    const other = call.caller === user ? call.callee : call.caller;
    out.deliver(other.connectionId, { type: "stopCommunication", reason });
    this.#closeCall(call, this.#endingMs > 0 ? "ending" : "online", out);
  }

  /** Forgets `call` and moves both parties to `next`, starting the `ending` timer when needed. */
  #closeCall(call: Call, next: "online" | "ending", out: Outcome): void {
    this.#calls.delete(call.id);
    for (const party of [call.caller, call.callee]) {
      party.call = undefined;
      if (next === "ending") {
        party.endingCallId = call.id;
      }
      this.#setStatus(party, next, out);
    }
    if (next === "ending") {
      this.#endings.set(call.id, [call.caller, call.callee]);
      out.timer({ op: "start", timerId: ENDING_TIMER + call.id, delayMs: this.#endingMs });
    }
  }

  /** Ends `user`'s `ending` period early (it places a call or goes away). */
  #leaveEnding(user: User, out: Outcome): void {
    const callId = user.endingCallId;
    if (callId === undefined) {
      return;
    }
    user.endingCallId = undefined;
    const parties = this.#endings.get(callId) ?? [];
    if (!parties.some((party) => party.endingCallId === callId && this.#isCurrent(party))) {
      this.#endings.delete(callId);
      out.timer({ op: "cancel", timerId: ENDING_TIMER + callId });
    }
  }

  #setStatus(user: User, status: PresenceStatus, out: Outcome): void {
    if (user.status !== status) {
      user.status = status;
      out.changed(user);
    }
  }
}

/**
 * The message that tells a client its message was refused: `loginResponse rejected` for a `login`
 * (the presence family's shape), `error` for anything else. Use it for decode failures too, with the
 * `refType` the decoder reported.
 */
export function refusalMessage(refType: string | undefined, code: ErrorCode, message: string): PresenceServerMessage | CommonServerMessage {
  if (refType === "login") {
    return { type: "loginResponse", content: "rejected", error: message, code };
  }
  return refType === undefined ? { type: "error", code, message } : { type: "error", code, message, refType };
}

/** Collects one operation's effects; {@link CallRegistry} turns them into a {@link CallResult}. */
class Outcome {
  readonly deliveries: CallDelivery[] = [];
  readonly timers: TimerCommand[] = [];
  readonly closes: CloseCommand[] = [];
  /** Users whose directory entry changed, each once, in order of first change. */
  readonly changedUsers: User[] = [];
  readonly leftUserIDs: string[] = [];
  /** Connections that stopped being logged in. */
  readonly unsubscribed: string[] = [];
  /** The connection that just logged in and gets the whole directory. */
  subscribed: string | undefined;

  deliver(to: string, message: CallsServerMessage): void {
    this.deliveries.push({ to, message });
  }

  timer(command: TimerCommand): void {
    this.timers.push(command);
  }

  close(command: CloseCommand): void {
    this.closes.push(command);
  }

  changed(user: User): void {
    if (!this.changedUsers.includes(user)) {
      this.changedUsers.push(user);
    }
  }

  left(userID: string): void {
    this.leftUserIDs.push(userID);
  }

  subscribe(connectionId: string): void {
    this.subscribed = connectionId;
  }

  unsubscribe(connectionId: string): void {
    this.unsubscribed.push(connectionId);
  }
}

function toPresenceUser(user: User): PresenceUser {
  const entry: PresenceUser = { userID: user.userID, username: user.username, status: user.status };
  if (user.avatar !== undefined) {
    entry.avatar = user.avatar;
  }
  return entry;
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
