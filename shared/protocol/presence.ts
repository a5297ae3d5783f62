/**
 * Presence family of the wire protocol: logging in (`login` / `loginResponse`) and the
 * directory of online users with their status.
 *
 * Scope is one server-wide lobby: every logged-in connection sees every logged-in user and receives
 * every change, its own included. A user is online while the connection that logged in is open, and
 * during the grace window after an abrupt loss of that connection, in which it may `resume`. Names are camelCase like the call family they serve (`loginResponse`, `incomingCall`),
 * not snake_case like the room family.
 */
import * as v from "valibot";
import { AccountPasswordSchema } from "./accounts.ts";
import type { ErrorCode } from "./errors.ts";
import { AuthTokenSchema, UsernameSchema, type IceServer } from "./room.ts";
import { displayTextSchema } from "./text.ts";

/** Longest user id accepted, in UTF-16 code units, after trimming. */
export const USER_ID_MAX_LENGTH = 64;

/** Longest avatar URL accepted. */
export const AVATAR_MAX_LENGTH = 2048;

/**
 * A user id chosen by the client (users log in with a typed name, so any printable text is
 * allowed): trimmed, 1 to 64 characters, with the same character rules as display names (no control
 * characters, unpaired surrogates or bidi controls; not only invisible characters, see `text.ts`).
 * Ids compare exactly after trimming.
 */
export const UserIdSchema = displayTextSchema("userID", USER_ID_MAX_LENGTH);

/**
 * True when `avatar` has the shape of an avatar every client may put in an `<img src>`: an absolute
 * `https:` URL with a host and no credentials, or a same-origin path starting with a single `/`.
 * Refused: other schemes (`http:` is mixed content on an https page, `javascript:`, `data:`),
 * protocol-relative `//host/x` and `/\host/x` (browsers read `\` as `/`, so both name another host),
 * and any whitespace, control character or backslash, which browsers strip or rewrite before
 * they fetch.
 * Which hosts are allowed is the server's decision (`server/avatars.ts`).
 */
export function isAvatarShape(avatar: string): boolean {
  if (/[\s\\\p{Cc}]/u.test(avatar)) {
    return false;
  }
  if (avatar.startsWith("/")) {
    return avatar.length === 1 || avatar[1] !== "/";
  }
  if (!/^https:\/\//i.test(avatar)) {
    return false;
  }
  let url: URL;
  try {
    url = new URL(avatar);
  } catch {
    return false;
  }
  return url.protocol === "https:" && url.hostname !== "" && url.username === "" && url.password === "";
}

/** An avatar image: see {@link isAvatarShape}; at most {@link AVATAR_MAX_LENGTH} characters. */
export const AvatarSchema = v.pipe(
  v.string(),
  v.maxLength(AVATAR_MAX_LENGTH, `avatar must be at most ${AVATAR_MAX_LENGTH} characters`),
  v.check(isAvatarShape, "avatar must be an https: URL or a path starting with a single /"),
);

/** Length of the reclaim key an accepted login receives (nanoid characters). */
export const RECLAIM_KEY_LENGTH = 32;

/** Longest `login.reclaimKey` accepted: a key of another length is refused as wrong, not decoded. */
export const RECLAIM_KEY_MAX_LENGTH = 64;

/** A reclaim key as a client sends it back, bounded before any comparison. */
export const ReclaimKeySchema = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(RECLAIM_KEY_MAX_LENGTH, `reclaimKey must be at most ${RECLAIM_KEY_MAX_LENGTH} characters`),
);

/**
 * `login`: claim `userID` for this connection with an optional display name (defaults to
 * the id) and avatar. `token` is the login token a token-mode server requires
 * (docs/security.md): there the user id, name and avatar come from it, the message's own fields are
 * ignored, and a login for a user id that is online takes it over (see `loggedOut`). An open-mode
 * server ignores `token`; there a user id that is online is taken over only by a login whose
 * `reclaimKey` is the one that user's current login received in `loginResponse accepted` (a
 * reload or a second tab of the same browser), and refused `user_online` otherwise.
 */
export const LoginSchema = v.object({
  type: v.literal("login"),
  userID: UserIdSchema,
  username: v.optional(UsernameSchema),
  avatar: v.optional(AvatarSchema),
  token: v.optional(AuthTokenSchema),
  reclaimKey: v.optional(ReclaimKeySchema),
  /**
   * True logs in a device (a camera): anyone may watch it without being asked. In token mode the
   * login token's `device` grant decides instead.
   */
  device: v.optional(v.boolean()),
  /**
   * The account password a server running with accounts requires (docs/security.md): `userID` is
   * then the account, whose display name, avatar and role replace the message's own.
   */
  password: v.optional(AccountPasswordSchema),
});

/** A validated `login`. */
export type LoginMessage = v.InferOutput<typeof LoginSchema>;

/**
 * Every status of an online user: the ones a call goes through, in order, then `unavailable`,
 * which a user sets itself (`setStatus`).
 */
export const PRESENCE_STATUSES = ["online", "connecting", "in_call", "ending", "unavailable"] as const;

/**
 * Status of an online user. `connecting`: a call is ringing (caller and callee alike); `in_call`:
 * the call was accepted; `ending`: an accepted call just ended and its media is being torn down;
 * `unavailable`: online but not able to take part, as the user itself said with `setStatus` (a
 * camera whose source is down); it is rung by nobody, and may still be watched.
 * Offline users are not listed at all.
 */
export type PresenceStatus = (typeof PRESENCE_STATUSES)[number];

/** True when a user in `status` is rung by nobody: `incoming` calls get `callResponse inCalling`. */
export function refusesIncomingCalls(status: PresenceStatus): boolean {
  return status !== "online";
}

/** The statuses a user may set itself with `setStatus`; the others follow its calls. */
export const SELF_SET_STATUSES = ["online", "unavailable"] as const;

/**
 * `setStatus`: the sender says whether it is available (`online`) or not (`unavailable`). Only
 * outside a call: a call's statuses are the server's (refused `invalid_state` meanwhile), and a
 * call placed while `unavailable` leaves the user `online` when it ends. Everyone sees the change
 * as a `presenceUpdate`; nothing is sent back otherwise. Kept for the login's lifetime.
 */
export const SetStatusSchema = v.object({
  type: v.literal("setStatus"),
  status: v.picklist(SELF_SET_STATUSES),
});

/** A validated `setStatus`. */
export type SetStatusMessage = v.InferOutput<typeof SetStatusSchema>;

/** A status a user may set itself. */
export type SelfSetStatus = (typeof SELF_SET_STATUSES)[number];

/** One online user as listed in the directory. */
export interface PresenceUser {
  userID: string;
  username: string;
  /** Present only when the user logged in with one. */
  avatar?: string;
  status: PresenceStatus;
  /** Present (true) for a device login (a camera): watching it needs nobody's answer. */
  device?: true;
  /** How many users this user is watching now; absent when none. */
  watching?: number;
  /** How many users are watching this user now; absent when none. */
  watchedBy?: number;
}

/** Why a connection was logged out by the server. */
export type LoggedOutReason = "replaced";

/** Presence messages the server sends. */
export type PresenceServerMessage =
  | {
      /** Acknowledges `login` (the original protocol only reported failures; a client needs it). */
      type: "loginResponse";
      content: "accepted";
      userID: string;
      username: string;
      avatar?: string;
      /**
       * Proof of this login for a later `login` with the same user id while this one is still
       * online (open mode): a new random key per accepted login. Keep it where a reload or another
       * tab of the same application finds it; never share it. A token-mode server sends one too
       * and ignores it (the token is the proof there).
       */
      reclaimKey: string;
      /**
       * The session id (the connection id, the same as `joined.id` when this connection joined a
       * room), for `resume` after a signaling reconnect. The session fields `id`, `resumeToken` and
       * `resumeGraceMs` are always sent by this server; they are optional here because the call
       * registry builds the message and the login handler (server/handlers/presence.ts) adds them.
       */
      id?: string;
      /**
       * Secret for `resume`; never share it. The same token as `joined.resumeToken` when this
       * connection also joined a room (one token per session); replaced by each `resumed`.
       */
      resumeToken?: string;
      /** How long after losing the connection the session may still `resume`, in milliseconds. */
      resumeGraceMs?: number;
      /**
       * ICE servers for this user's calls, with TURN credentials when the server has TURN
       * configured. Filled in by the login handler (the call registry does not know about TURN).
       */
      iceServers?: IceServer[];
      /** When the TURN credentials expire (Unix epoch ms); refresh with `refresh_ice_servers`. */
      iceServersExpireAtMs?: number;
    }
  | {
      /** Refuses `login` (the original shape, plus the stable `code`). */
      type: "loginResponse";
      content: "rejected";
      /** Human-readable detail; do not match on it. */
      error: string;
      code: ErrorCode;
    }
  | {
      /** The whole directory, the receiver included; sent once, right after `loginResponse accepted`. */
      type: "presence";
      users: PresenceUser[];
    }
  | {
      /** A user came online, or its status, name or avatar changed. Replaces the previous entry. */
      type: "presenceUpdate";
      user: PresenceUser;
    }
  | {
      /** A user went offline: its connection closed (or was lost and not resumed in time). */
      type: "presenceLeft";
      userID: string;
    }
  | {
      /**
       * Several directory changes of one presence window, sent instead of one `presenceUpdate` or
       * `presenceLeft` each. Apply `left` first (remove those users), then `users` in order (an entry
       * replaces the user's entry in place, or is appended when the user is not listed). A user
       * appears in `left` and `users` both only when it went offline and came back within the
       * window: it is listed again at the end, like any new login.
       */
      type: "presenceChanges";
      users: PresenceUser[];
      left: string[];
    }
  | {
      /**
       * Sent to a connection just before the server closes it with close code 4003 (`replaced`):
       * another connection logged in with the same user id and proved it may (a login token in
       * token mode, this login's `reclaimKey` in open mode).
       */
      type: "loggedOut";
      reason: LoggedOutReason;
    };
