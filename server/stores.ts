/**
 * The state the server shares between connections, behind small interfaces: room membership, the
 * logins, the presence directory and suspended sessions. One process uses the in-memory defaults
 * ({@link RoomRegistry}, {@link LoginDirectory}, {@link PresenceFanout}, {@link SessionResumption}); a shared store (several
 * server nodes behind one address) can replace them by keeping these contracts.
 *
 * Every method is synchronous and atomic with respect to the others: the single-threaded default
 * gets that for free, a shared store must give it (a transaction or a script per call).
 */
import type { MuteKind, Participant } from "../shared/protocol/index.ts";
import type { LoginMessage, PresenceStatus, PresenceUser } from "../shared/protocol/presence.ts";
import type { LoginEffects, LoginIdentity, LoginProof, LoginResult } from "./logins.ts";
import type { PresenceChanges, PresenceDelivery, PresenceEffects } from "./presence.ts";
import type { BufferOutcome, BufferedFrame, ResumeOutcome, SuspendOutcome } from "./resume.ts";
import type { AdmissionResult, JoinGate, JoinGrants, JoinRequest, MemberView, RoomResult, RoomSettingsChange, RoomStats, RouteResult, TargetedMessage } from "./rooms.ts";
import type { Effects } from "./effects.ts";

/**
 * Who is in which room, who waits in its lobby, and its access settings. Default:
 * {@link RoomRegistry} (server/rooms.ts). The password comes in hashed (server/room-passwords.ts):
 * a store only keeps and compares derived keys.
 */
export interface RoomMembership {
  /**
   * What a joiner with `grants` must clear to enter `room`: refused (`room_locked`), or the salt
   * to derive its password with when the room has one. {@link join} checks again.
   */
  joinGate(room: string, grants: JoinGrants): JoinGate;
  /**
   * Session `id` asks to enter a room as ONE atomic check-and-add: the checks (not in a room or a
   * lobby yet; lock, password and lobby for those who are not hosts; a free seat) and the add
   * happen with no other join or leave in between, so two joins racing for the last seat end with
   * exactly one winner. Admitted, the effects tell every member the new list; sent to the lobby,
   * they tell the waiter and the hosts.
   */
  join(id: string, request: JoinRequest): AdmissionResult;
  /** Host `hostId` admits `waiterId` from its room's lobby (capacity checked now). */
  admitFromLobby(hostId: string, waiterId: string): AdmissionResult;
  /** Host `hostId` turns `waiterId` away from its room's lobby. */
  denyFromLobby(hostId: string, waiterId: string): RoomResult;
  /** Host `hostId` removes `targetId` (a member or a waiter) from its room. */
  remove(hostId: string, targetId: string): RoomResult;
  /** Host `hostId` asks member `targetId` to mute `kind`. */
  mute(hostId: string, targetId: string, kind: MuteKind): RoomResult;
  /** Host `hostId` changes its room's settings; every member gets the new `room_state`. */
  configure(hostId: string, change: RoomSettingsChange): RoomResult;
  /** Removes `id` from its room or its lobby; the remaining members (or the hosts) are told. Refused when it is in neither. */
  leave(id: string): RoomResult;
  /** Where a negotiation message of `senderId` to `targetId` goes, and the sender's name to stamp. */
  route(senderId: string, type: TargetedMessage["type"], targetId: string): RouteResult;
  /** True while `id` waits in a lobby. */
  isWaiting(id: string): boolean;
  /** The room `id` has joined, if any (a waiter has joined none). */
  roomOf(id: string): string | undefined;
  /** What member `id` knows of its room now (list as it may see it, grants, room state). */
  viewOf(id: string): MemberView | undefined;
  /** The members of `room` in join order, hidden ones included; empty when it does not exist. */
  participants(room: string): Participant[];
  /** Counts for health and metrics. */
  stats(): RoomStats;
}

/**
 * Who is logged in on which connection, as whom, with which presence status. Default:
 * {@link LoginDirectory} (server/logins.ts). The call registry reads it and sets statuses; the
 * effects carry the changes to the presence fan-out ({@link PresenceDirectory}).
 */
export interface Logins {
  /**
   * Logs connection `connectionId` in as `message.userID` as ONE atomic check-and-take-over: the
   * check (this connection is not logged in yet) and the take-over of the user id from whichever
   * connection holds it happen with no other login or logout in between, so two logins racing for
   * one user id end with exactly one holder, the other told `loggedOut` and closed with 4003. The
   * result names the replaced connection; its call is ended by the call registry afterwards.
   * `proof` says what may take a user id that is online over (see {@link LoginProof}); a login
   * without it is refused `user_online` and changes nothing.
   */
  login(connectionId: string, message: LoginMessage, proof: LoginProof): LoginResult;
  /** Ends the login of `connectionId` (its session ended); the others see it leave. Nothing when not logged in. */
  logout(connectionId: string): LoginEffects;
  /** Sets the status of the login on `connectionId`; true when its entry changed (false when not logged in). */
  setStatus(connectionId: string, status: PresenceStatus): boolean;
  /** Sets the watch counts of the login on `connectionId`; true when its entry changed (false when not logged in). */
  setWatchCounts(connectionId: string, watching: number, watchedBy: number): boolean;
  /** Who `connectionId` is logged in as, if it is. */
  loginOf(connectionId: string): LoginIdentity | undefined;
  /** The connection logged in as `userID`, if it is online. */
  connectionOf(userID: string): string | undefined;
  /** The directory entry of the login on `connectionId`, if it is logged in. */
  presenceOf(connectionId: string): PresenceUser | undefined;
  /** Number of logged-in users, for health and metrics. */
  count(): number;
}

/**
 * The presence directory as logged-in connections see it, and who sees it. Default:
 * {@link PresenceFanout} (server/presence.ts), which coalesces changes per window.
 */
export interface PresenceDirectory {
  /** Records one operation's directory changes; a new login's snapshot is in the result's deliveries. */
  apply(changes: PresenceChanges): PresenceEffects;
  /** Ends the window {@link PresenceEffects.startWindow} opened: what each subscriber has not been told. */
  flush(): PresenceDelivery[];
}

/**
 * Resume tokens and suspended sessions with what was held for them. Default:
 * {@link SessionResumption} (server/resume.ts). A session id is unknown, live (admitted) or
 * suspended.
 */
export interface SuspendedSessions {
  /** The token of live or suspended session `id`, if it holds one. */
  tokenOf(id: string): string | undefined;
  /** Makes `id` live under `token` (a new session, or a fresh token after a resume). */
  admit(id: string, token: string): void;
  /** Suspends live session `id`; the effects start its grace timer. Undefined when not live. */
  suspend(id: string, nowMs: number): SuspendOutcome | undefined;
  /** True while `id` is suspended. */
  isSuspended(id: string): boolean;
  /** Holds a frame for suspended `id`; `overflow` ends the suspension (the caller ends the session). */
  buffer(id: string, frame: BufferedFrame): BufferOutcome;
  /** Hands session `id` to whoever holds `token`, under `nextToken`, with what was held for it. */
  resume(id: string, token: string, nextToken: string, nowMs: number): ResumeOutcome;
  /** Ends `id`'s suspension when its grace window is over at `nowMs`; true when the caller ends the session. */
  expire(id: string, nowMs: number): boolean;
  /** Forgets `id` (its session ended); the effects cancel its grace timer. */
  forget(id: string): Effects;
  /** Ids of every suspended session. */
  suspendedIds(): string[];
  /** Number of suspended sessions. */
  suspendedCount(): number;
}
