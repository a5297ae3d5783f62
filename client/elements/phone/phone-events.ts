/**
 * The phases of `<webrtc-phone>` and the events it dispatches, as a typed map from event name to
 * `CustomEvent`.
 */
import type { CallDirection, CallEndReason, PhoneErrorCode, PhoneEventErrorCode, WatchEndReason, WatchRole } from "../../core/phone.ts";
import type { LinkConnection } from "../shared/connection-notice.ts";

/** What `<webrtc-phone>` shows. Derived from the session and its call; see `PhoneController.phase`. */
export const PhonePhase = {
  /** The sign-in form: nobody logged in (initially, and after signing out). */
  signedOut: "signed_out",
  /** Connecting and logging in. */
  signingIn: "signing_in",
  /** Logged in, no call: the list of people online. */
  lobby: "lobby",
  /** An outgoing call before the answer: "Calling…" with cancel. */
  calling: "calling",
  /** An incoming call waiting for the user: accept or decline. */
  ringing: "ringing",
  /** A call accepted on this side: being connected, or connected. */
  inCall: "in_call",
  /** Signing in failed, or the session was lost (connection closed, signed in elsewhere). */
  failed: "failed",
} as const;

/** A value of {@link PhonePhase}. */
export type PhonePhase = (typeof PhonePhase)[keyof typeof PhonePhase];

/** Another user, as reported in events. */
export interface PhoneUserInfo {
  userID: string;
  username: string;
}

/**
 * Payload of the phone's `connection-state` event: the shape of `<webrtc-room>`'s, with the phone's
 * phases. `connection` is `disconnected` unless signed in.
 */
export interface PhoneConnectionStateDetail {
  /** The phase now; equal to `previous` when only `connection` changed. */
  state: PhonePhase;
  previous: PhonePhase;
  connection: LinkConnection;
  /** With `connection: "reconnecting"`: how long the server keeps this login (and its call), in ms. */
  graceRemainingMs?: number;
}

/** Codes of the `error` event. */
export type PhoneElementErrorCode =
  | PhoneErrorCode
  | PhoneEventErrorCode
  /** The `server` attribute is not a usable URL. */
  | "bad_server_url"
  /** The connection to the server closed while logged in. */
  | "signaling_closed"
  /** Another connection signed in with this name and took over. */
  | "replaced"
  /** Camera or microphone could not be used; the call goes on with what works. */
  | "media_unavailable";

/** Payload of the `error` event. */
export interface PhoneErrorDetail {
  code: PhoneElementErrorCode;
  message: string;
}

declare global {
  /**
   * The events of `<webrtc-phone>` that bubble (all composed), in the browser's own map, so that
   * `addEventListener("incoming-call", …)` is typed. `error` is in {@link WebRtcPhoneEventMap}
   * only, as for `<webrtc-room>`.
   */
  interface HTMLElementEventMap {
    /** The element's {@link PhonePhase} changed. */
    "phone-state": CustomEvent<{ state: PhonePhase; previous: PhonePhase }>;
    /** Someone is calling this user. */
    "incoming-call": CustomEvent<{ caller: PhoneUserInfo }>;
    /** A call ended, placed or received; `reason` is the core's `CallEndReason`. */
    "call-ended": CustomEvent<{ remote: PhoneUserInfo; direction: CallDirection; reason: CallEndReason; byLocal: boolean }>;
    /** A call this user did not pick up (the caller gave up or nobody answered). */
    "missed-call": CustomEvent<{ caller: PhoneUserInfo; reason: "cancelled" | "no_answer" }>;
    /** Someone asks to watch this user's camera: the element shows Allow / Deny. */
    "watch-request": CustomEvent<{ watchId: string; from: PhoneUserInfo }>;
    /**
     * A watch started: this user watches `remote` (`role: "watcher"`; the picture follows) or
     * `remote` watches this user (`role: "watched"`).
     */
    "watch-started": CustomEvent<{ watchId: string; role: WatchRole; remote: PhoneUserInfo }>;
    /**
     * A watch, or a request to watch, ended; `reason` is the core's `WatchEndReason` (`stopped`,
     * `denied`, `offline`, `timeout`, `disconnected`, `replaced`, `media_failed`, `refused`).
     * `watchId` is absent for a request the server refused before naming it.
     */
    "watch-ended": CustomEvent<{ watchId: string | undefined; role: WatchRole; remote: PhoneUserInfo; reason: WatchEndReason; byLocal: boolean }>;
  }
}

/** The `error` event of `<webrtc-phone>`; narrow a listener's `Event` to it (`event as PhoneErrorEvent`). */
export type PhoneErrorEvent = CustomEvent<PhoneErrorDetail>;

/**
 * The phone's `connection-state` event. Not in the browser's event map, which holds
 * `<webrtc-room>`'s (with the room's phases); narrow a listener's `Event` to it.
 */
export type PhoneConnectionStateEvent = CustomEvent<PhoneConnectionStateDetail>;

/**
 * Every event of `<webrtc-phone>`, by name. All but `error` bubble; all are composed. `chat-message`
 * has the room's payload (`own` tells this user's own messages).
 */
export interface WebRtcPhoneEventMap extends Pick<
    HTMLElementEventMap,
    "phone-state" | "incoming-call" | "call-ended" | "missed-call" | "chat-message" | "watch-request" | "watch-started" | "watch-ended"
  > {
  /** The phase or the link to the server changed. */
  "connection-state": PhoneConnectionStateEvent;
  /** Something went wrong. Not bubbling, for the same reason as `<webrtc-room>`'s. */
  error: PhoneErrorEvent;
}

/** The `detail` of event `Name`. */
export type WebRtcPhoneEventDetail<Name extends keyof WebRtcPhoneEventMap> =
  WebRtcPhoneEventMap[Name] extends CustomEvent<infer Detail> ? Detail : never;

/** Creates one of the element's events with the bubbling described in {@link WebRtcPhoneEventMap}. */
export function phoneEvent<Name extends keyof WebRtcPhoneEventMap>(
  name: Name,
  detail: WebRtcPhoneEventDetail<Name>,
): CustomEvent<WebRtcPhoneEventDetail<Name>> {
  return new CustomEvent(name, { detail, bubbles: name !== "error", composed: true });
}
