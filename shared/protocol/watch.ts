/**
 * Watches, part of the call family of the wire protocol: one logged-in user watches another's
 * camera, one way, on demand (a supervisor and a field worker, a parent and a baby monitor).
 *
 * - The watcher sends `watch {userID}`. The watched user's client is asked (`watchRequest`) and
 *   answers `watchAnswer {watchId, accept}`, unless the server accepts by itself: the watched user
 *   allowed this watcher (`allowWatching`), or the watched login is a device (`login.device`, or
 *   the `device` grant of a login token in token mode).
 * - Once the watch starts (`watchStarted` to both), the **watched** side offers (its camera,
 *   `sendonly`) and the watcher answers (`recvonly`: it sends no media). Descriptions and candidates
 *   are relayed unchanged, keyed by `watchId`, like a call's `callDescription` / `onIceCandidate`.
 * - Either side ends it with `stopWatching {watchId}`; both get `watchEnded`. A login that ends
 *   (closed, replaced, or away past its grace window) ends its watches; a signaling blip within the
 *   grace window does not.
 *
 * Watches and calls do not block each other: a user may be watched while in a call and call while
 * watched; each watch is its own peer connection. Presence entries carry counts (`watching`,
 * `watchedBy`); who watches whom is told only to the two parties.
 */
import * as v from "valibot";
import { UserIdSchema } from "./presence.ts";
import { IceCandidateSchema, SdpTextSchema, type IceCandidate, type SessionDescription } from "./room.ts";

/** Server-assigned watch id (`w1`, `w2`…). */
const WatchIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/));

/** `allowWatching.userID` that stands for every user. */
export const EVERYONE = "*";

/** `watch`: ask to watch `userID`'s camera. */
export const WatchSchema = v.object({
  type: v.literal("watch"),
  userID: UserIdSchema,
});

/** `watchAnswer`: the watched user's answer to a `watchRequest`. */
export const WatchAnswerSchema = v.object({
  type: v.literal("watchAnswer"),
  watchId: WatchIdSchema,
  accept: v.boolean(),
});

/**
 * `allowWatching`: from now on, requests of `userID` (or of everyone, `"*"`) to watch the sender
 * are accepted (`allow: true`) by the server without asking, or asked again (`allow: false`). Kept
 * with the sender's login for the login's lifetime; watches already running are not touched.
 * Acknowledged with `watchAllowed`.
 */
export const AllowWatchingSchema = v.object({
  type: v.literal("allowWatching"),
  userID: v.union([v.literal(EVERYONE), UserIdSchema]),
  allow: v.boolean(),
});

/** `stopWatching`: either side ends a watch (or the watcher withdraws its request). */
export const StopWatchingSchema = v.object({
  type: v.literal("stopWatching"),
  watchId: WatchIdSchema,
});

/** `watchDescription`: an SDP offer (watched side) or answer (watcher) of a started watch. */
export const WatchDescriptionSchema = v.object({
  type: v.literal("watchDescription"),
  watchId: WatchIdSchema,
  sdp: v.object({ type: v.picklist(["offer", "answer"]), sdp: v.pipe(SdpTextSchema, v.minLength(1, "SDP must not be empty")) }),
});

/** `watchCandidate`: one trickled ICE candidate of a started watch, for the other side. */
export const WatchCandidateSchema = v.object({
  type: v.literal("watchCandidate"),
  watchId: WatchIdSchema,
  candidate: IceCandidateSchema,
});

/** The watch schemas, in the order to add them to the client `v.variant`. */
export const WATCH_CLIENT_SCHEMAS = [WatchSchema, WatchAnswerSchema, AllowWatchingSchema, StopWatchingSchema, WatchDescriptionSchema, WatchCandidateSchema] as const;

/** A validated client message about watches. */
export type WatchClientMessage =
  | v.InferOutput<typeof WatchSchema>
  | v.InferOutput<typeof WatchAnswerSchema>
  | v.InferOutput<typeof AllowWatchingSchema>
  | v.InferOutput<typeof StopWatchingSchema>
  | v.InferOutput<typeof WatchDescriptionSchema>
  | v.InferOutput<typeof WatchCandidateSchema>;

/**
 * Why a watcher's request did not start a watch: the watched user said no (or stopped the
 * request), is not online (or went away while asked), or did not answer within the ring timeout.
 */
export type WatchRefusedReason = "denied" | "offline" | "timeout";

/**
 * Why a watch (or a pending request, on the watched side) ended: a `stopWatching` from either side
 * (`by` names who), the other side's login ended (`disconnected`, `replaced`), or the request was
 * not answered in time (`timeout`, watched side).
 */
export type WatchEndReason = "stopped" | "disconnected" | "replaced" | "timeout";

/** Which side of a watch the receiver is. */
export type WatchRole = "watcher" | "watched";

/** A user as a watch message names it. */
export interface WatchParty {
  userID: string;
  username: string;
  avatar?: string;
}

/** One watcher of the receiver, as `watchers` lists it. */
export interface Watcher extends WatchParty {
  watchId: string;
}

/** Watch messages the server sends. */
export type WatchServerMessage =
  | {
      /** To the watcher: its request is with the watched user, who is being asked. */
      type: "watchRequested";
      watchId: string;
      userID: string;
    }
  | {
      /** To the watched user: `from` asks to watch; answer with `watchAnswer`. */
      type: "watchRequest";
      watchId: string;
      from: WatchParty;
    }
  | {
      /**
       * To both sides when a watch starts. `userID` is the other side; `role` the receiver's. The
       * watched side now offers its camera in `watchDescription`.
       */
      type: "watchStarted";
      watchId: string;
      userID: string;
      role: WatchRole;
    }
  | {
      /** To the watcher: no watch. */
      type: "watchRefused";
      watchId: string;
      userID: string;
      reason: WatchRefusedReason;
    }
  | {
      /** A watch, or a request the receiver was asked or made, is over. */
      type: "watchEnded";
      watchId: string;
      reason: WatchEndReason;
      /** With `stopped`: the user id that sent `stopWatching`. */
      by?: string;
    }
  | {
      /** To the sender of `allowWatching`, once it applies: later `watch` requests see it. */
      type: "watchAllowed";
      userID: string;
      allow: boolean;
    }
  | {
      /** To the watched user, on each change: everyone watching it now, in start order. */
      type: "watchers";
      watchers: Watcher[];
    }
  | {
      /** An offer or answer from the other side of the watch, as it sent it. */
      type: "watchDescription";
      watchId: string;
      sdp: SessionDescription;
    }
  | {
      /** An ICE candidate from the other side of the watch. */
      type: "watchCandidate";
      watchId: string;
      candidate: IceCandidate;
    };
