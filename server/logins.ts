/**
 * Login directory: who is logged in (user id ↔ connection), as whom (display name, avatar) and
 * with which presence status: the presence family's state, with no sockets and no clock. The
 * in-memory default of {@link Logins} (server/stores.ts).
 *
 * A user id is online at most once. Who may take an online user id over depends on the mode
 * ({@link LoginProof}): a verified login token (token mode) or account password (accounts mode), or the reclaim key the current login
 * received (open mode), so a stranger who types someone's user id is refused `user_online` and
 * changes nothing for them.
 *
 * Every operation returns what the server must do in the one effects shape (server/effects.ts):
 * `loginResponse` and `loggedOut` to deliver, the 4003 close of a replaced connection, and the
 * directory changes it made ({@link PresenceChanges}), which go to the presence fan-out
 * (server/presence.ts). Calls are not kept here: the call registry (server/calls.ts) sets the
 * status of the users it rings and connects, and ends the call of a login that ended.
 *
 * Like the call registry, the directory never learns of a socket closing: a suspended session stays
 * logged in until the session layer resumes it or calls {@link LoginDirectory.logout}.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { nanoid } from "nanoid";
import type { CommonServerMessage } from "../shared/protocol/common.ts";
import { CLOSE_CODES, type ErrorCode } from "../shared/protocol/errors.ts";
import { RECLAIM_KEY_LENGTH, type LoginMessage, type PresenceServerMessage, type PresenceStatus, type PresenceUser } from "../shared/protocol/presence.ts";
import type { CloseCommand, Delivery, Effects } from "./effects.ts";
import type { PresenceChanges } from "./presence.ts";
import type { Logins } from "./stores.ts";

/** Who a connection is logged in as: what `loginResponse accepted` and `resumed.login` state. */
export interface LoginIdentity {
  userID: string;
  username: string;
  avatar?: string;
}

/** One presence-family message (`loginResponse`, `loggedOut`) for one connection. */
export type LoginDelivery = Delivery<PresenceServerMessage>;

/** What a login or a logout asks of the server, with every field it can use present. */
export interface LoginEffects extends Effects<PresenceServerMessage> {
  closes: CloseCommand[];
  /** How the directory and its audience changed. */
  presence: PresenceChanges;
}

/**
 * An accepted login: its effects, and the connection it took the user id from ("newer login
 * wins"), whose call the caller ends through the call registry.
 */
export type LoginAccepted = { ok: true; replaced: string | undefined } & LoginEffects;

/** Result of a login: its effects, or an error code for the sender alone (nothing changed). */
export type LoginResult = LoginAccepted | { ok: false; code: ErrorCode; message: string };

/**
 * What lets a login take over a user id that is online:
 * - `token`: the identity comes from a verified login token (token mode): the newer login wins.
 * - `account`: the identity comes from a checked account password (accounts mode): likewise.
 * - `reclaim_key`: the client chose the user id itself (open mode): only a `login.reclaimKey` equal
 *   to the key the current login received takes over; anything else is refused `user_online`.
 */
export type LoginProof = "token" | "account" | "reclaim_key";

/** A logged-in connection. */
interface Login {
  readonly connectionId: string;
  readonly userID: string;
  readonly username: string;
  readonly avatar: string | undefined;
  /** What `loginResponse accepted` gave this login: the proof a later login of the same user brings. */
  readonly reclaimKey: string;
  /** A device (a camera): anyone may watch it without being asked. */
  readonly device: boolean;
  status: PresenceStatus;
  /** Watches this user has running as the watcher, and as the watched user. */
  watching: number;
  watchedBy: number;
}

/** A new reclaim key: {@link RECLAIM_KEY_LENGTH} nanoid characters (190 bits). */
function newReclaimKey(): string {
  return nanoid(RECLAIM_KEY_LENGTH);
}

/**
 * True when `offered` is `expected`, in time that does not depend on where they differ: both are
 * hashed first, so the comparison sees two digests of one length whatever was sent.
 */
function sameKey(offered: string, expected: string): boolean {
  const digest = (key: string) => createHash("sha256").update(key, "utf8").digest();
  return timingSafeEqual(digest(offered), digest(expected));
}

/**
 * Every logged-in user and its presence status: one server-wide lobby, in login order. The
 * in-memory {@link Logins}.
 */
export class LoginDirectory implements Logins {
  /** connection id → login, in login order. */
  readonly #byConnection = new Map<string, Login>();
  /** user id → login; login order, a replacing login keeping the replaced one's place. */
  readonly #byUserID = new Map<string, Login>();

  /**
   * Logs `connectionId` in with a new reclaim key. A user id held by another connection (connected,
   * or suspended within its grace window) is taken over when `proof` allows it: that connection is
   * told `loggedOut {reason: "replaced"}` and closed with 4003, so a user id is never online twice,
   * and others see the entry change in place. Without the proof the login is refused `user_online`
   * and nothing changes.
   */
  login(connectionId: string, message: LoginMessage, proof: LoginProof): LoginResult {
    const current = this.#byConnection.get(connectionId);
    if (current) {
      return { ok: false, code: "already_logged_in", message: `this connection is already logged in as "${current.userID}"` };
    }
    const replaced = this.#byUserID.get(message.userID);
    if (replaced && proof === "reclaim_key" && (message.reclaimKey === undefined || !sameKey(message.reclaimKey, replaced.reclaimKey))) {
      return {
        ok: false,
        code: "user_online",
        message: `"${message.userID}" is online on another connection; only that user's reclaimKey can take it over`,
      };
    }
    const deliveries: LoginDelivery[] = [];
    const closes: CloseCommand[] = [];
    const unsubscribed: string[] = [];
    if (replaced) {
      this.#byConnection.delete(replaced.connectionId);
      unsubscribed.push(replaced.connectionId);
      deliveries.push({ to: replaced.connectionId, message: { type: "loggedOut", reason: "replaced" } });
      closes.push({ connectionId: replaced.connectionId, code: CLOSE_CODES.replaced, reason: "replaced" });
    }
    const login: Login = {
      connectionId,
      userID: message.userID,
      username: message.username ?? message.userID,
      avatar: message.avatar,
      reclaimKey: newReclaimKey(),
      device: message.device === true,
      status: "online",
      watching: 0,
      watchedBy: 0,
    };
    this.#byConnection.set(connectionId, login);
    this.#byUserID.set(login.userID, login);
    const accepted: PresenceServerMessage = {
      type: "loginResponse",
      content: "accepted",
      userID: login.userID,
      username: login.username,
      reclaimKey: login.reclaimKey,
    };
    if (login.avatar !== undefined) {
      accepted.avatar = login.avatar;
    }
    deliveries.push({ to: connectionId, message: accepted });
    return {
      ok: true,
      replaced: replaced?.connectionId,
      deliveries,
      closes,
      presence: { subscribed: connectionId, unsubscribed, left: [], updated: [toPresenceUser(login)] },
    };
  }

  /**
   * Ends the login of `connectionId` because its session ended: everyone else sees it leave. No
   * effects for a connection that is not logged in (never was, or was replaced).
   */
  logout(connectionId: string): LoginEffects {
    const login = this.#byConnection.get(connectionId);
    if (!login) {
      return { deliveries: [], closes: [], presence: { unsubscribed: [], left: [], updated: [] } };
    }
    this.#byConnection.delete(connectionId);
    this.#byUserID.delete(login.userID);
    return { deliveries: [], closes: [], presence: { unsubscribed: [connectionId], left: [login.userID], updated: [] } };
  }

  /** Sets the status of the login on `connectionId`; true when its entry changed. */
  setStatus(connectionId: string, status: PresenceStatus): boolean {
    const login = this.#byConnection.get(connectionId);
    if (!login || login.status === status) {
      return false;
    }
    login.status = status;
    return true;
  }

  /** Sets the watch counts of the login on `connectionId`; true when its entry changed. */
  setWatchCounts(connectionId: string, watching: number, watchedBy: number): boolean {
    const login = this.#byConnection.get(connectionId);
    if (!login || (login.watching === watching && login.watchedBy === watchedBy)) {
      return false;
    }
    login.watching = watching;
    login.watchedBy = watchedBy;
    return true;
  }

  /** The login of `connectionId` as `loginResponse accepted` stated it, if it is logged in. */
  loginOf(connectionId: string): LoginIdentity | undefined {
    const login = this.#byConnection.get(connectionId);
    if (!login) {
      return undefined;
    }
    return login.avatar === undefined
      ? { userID: login.userID, username: login.username }
      : { userID: login.userID, username: login.username, avatar: login.avatar };
  }

  /** The connection logged in as `userID`, if it is online. */
  connectionOf(userID: string): string | undefined {
    return this.#byUserID.get(userID)?.connectionId;
  }

  /** The directory entry of the login on `connectionId`, if it is logged in. */
  presenceOf(connectionId: string): PresenceUser | undefined {
    const login = this.#byConnection.get(connectionId);
    return login && toPresenceUser(login);
  }

  /** Number of logged-in users. */
  count(): number {
    return this.#byUserID.size;
  }

  /** The user id `connectionId` logged in with, if it did and was not replaced since. */
  userIdOf(connectionId: string): string | undefined {
    return this.#byConnection.get(connectionId)?.userID;
  }

  /** Status of `userID`, or undefined when it is offline. */
  statusOf(userID: string): PresenceStatus | undefined {
    return this.#byUserID.get(userID)?.status;
  }

  /** The directory: every online user in login order. */
  directory(): PresenceUser[] {
    return [...this.#byUserID.values()].map(toPresenceUser);
  }

  /** Ids of every logged-in connection, in login order: the audience of presence changes. */
  connectionIds(): string[] {
    return [...this.#byConnection.keys()];
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

function toPresenceUser(login: Login): PresenceUser {
  const entry: PresenceUser = { userID: login.userID, username: login.username, status: login.status };
  if (login.avatar !== undefined) {
    entry.avatar = login.avatar;
  }
  if (login.device) {
    entry.device = true;
  }
  if (login.watching > 0) {
    entry.watching = login.watching;
  }
  if (login.watchedBy > 0) {
    entry.watchedBy = login.watchedBy;
  }
  return entry;
}
