/**
 * The events `<webrtc-room>` dispatches, as a typed map from event name to `CustomEvent`.
 */
import type { MeshErrorCode, PeerLeftReason, RoomState } from "../../core/index.ts";
import type { ChatEntry } from "../shared/chat-panel.ts";
import { LinkConnection } from "../shared/connection-notice.ts";
import type { MediaProblem } from "../shared/local-media.ts";

/**
 * Where the element is in its stay in a room. Only the element's own actions move it backwards.
 *
 * The phases run `idle` → `joining` (→ `waiting` in a lobby) → `joined`, then `left` or `failed`.
 * `rejoin()` goes from `left`, `failed` (or `joined` while `disconnected`) straight to `joining`; a change of `server`, `room`,
 * `name` or `token` goes from any phase but `left` straight to `joining` too: a rejoin never passes
 * through `idle`. `idle` comes back only when the element leaves the document or `room` is
 * cleared. The first `connection-state` (`idle` → `joining`) fires after the page's scripts ran.
 */
export const RoomPhase = {
  /** Not started: no `room` set, the element is not in the document, or its first stay has not started yet (with `prejoin`: until Join). */
  idle: "idle",
  /** Connecting to the signaling server and joining. The camera is not opened yet. */
  joining: "joining",
  /** In the room's lobby until a host admits (→ `joined`) or denies (→ `failed`). The camera is not opened yet. */
  waiting: "waiting",
  /** In the room. Camera and microphone are opened now, with the `publish` grant only. */
  joined: "joined",
  /** The user left (leave button or `leave()`); `rejoin()` starts again. */
  left: "left",
  /** Joining was refused or the server connection was lost; `rejoin()` tries again. */
  failed: "failed",
} as const;

/** A value of {@link RoomPhase}. */
export type RoomPhase = (typeof RoomPhase)[keyof typeof RoomPhase];

/**
 * Where the element's link to the room stands, beside its {@link RoomPhase}: the shared
 * {@link LinkConnection} (`connected`, `reconnecting` with the grace countdown, `reconnected`,
 * `disconnected`); `disconnected` in every phase but `joined`.
 */
export const RoomConnection = LinkConnection;

/** A value of {@link RoomConnection}. */
export type RoomConnection = LinkConnection;

/** Payload of the `connection-state` event. */
export interface ConnectionStateDetail {
  /** The phase now; equal to `previous` when only `connection` changed. */
  state: RoomPhase;
  previous: RoomPhase;
  connection: RoomConnection;
  /** With `connection: "reconnecting"`: how long the server keeps this participant's place, in ms. */
  graceRemainingMs?: number;
}

/** Payload of the `chat-message` event: a chat message shown in the panel, sent or received (`own`). */
export type RoomChatMessage = ChatEntry;

/** Another participant, as reported in events. */
export interface ParticipantInfo {
  /** Server-assigned participant id, unique within the room. */
  id: string;
  /** Display name the participant chose. */
  username: string;
}

/** Codes of the `error` event: the mesh core's codes plus the element's own. */
export type RoomErrorCode =
  | MeshErrorCode
  /** The `server` attribute is not a usable URL. */
  | "bad_server_url"
  /** The `room` attribute is not a room name (`A-Z a-z 0-9 _ -`, 1–64 characters); nothing was sent. */
  | "invalid_room"
  /** Camera or microphone could not be used; `media` says which and why. The room is joined anyway. */
  | "media_unavailable"
  /** An unexpected exception while joining; `message` has the details. */
  | "internal_error"
  /** A host removed this participant from the room (phase `failed`; `rejoin()` may try again). */
  | "removed";

/** Payload of the `error` event. */
export interface RoomErrorDetail {
  code: RoomErrorCode;
  message: string;
  /** The remote participant involved, if any. */
  peerId?: string;
  /** For `media_unavailable`: why each kind is missing (absent = that kind works). */
  media?: { audio?: MediaProblem; video?: MediaProblem };
}

/** Payload of the `active-speaker` event. */
export interface ActiveSpeakerDetail {
  /** The remote participant who speaks now (or spoke last), `null` when they left and nobody took over. */
  speaker: ParticipantInfo | null;
  /** The remote participants' audio levels at the last reading (0–1, linear; 4 readings a second). */
  levels: Array<ParticipantInfo & { level: number }>;
}

declare global {
  /**
   * The events of `<webrtc-room>` that bubble, in the browser's own map, so that
   * `addEventListener("peer-joined", …)` on the element or on any ancestor is typed. `error` is
   * in {@link WebRtcRoomEventMap} only: the browser's map already has an `error` (`ErrorEvent`)
   * that cannot be redeclared.
   */
  interface HTMLElementEventMap {
    /** A participant entered the room (bubbles, composed). */
    "peer-joined": CustomEvent<{ peer: ParticipantInfo }>;
    /** A participant left, or this element left the room (`reason: "session_closed"`) (bubbles, composed). */
    "peer-left": CustomEvent<{ peer: ParticipantInfo; reason: PeerLeftReason }>;
    /** The element's {@link RoomPhase} or {@link RoomConnection} changed (bubbles, composed). */
    "connection-state": CustomEvent<ConnectionStateDetail>;
    /** A chat message was sent or received; `own` tells which (bubbles, composed). */
    "chat-message": CustomEvent<RoomChatMessage>;
    /** The room's lock, password, lobby or hosts changed; also once on joining (bubbles, composed). */
    "room-state": CustomEvent<RoomState>;
    /** Hosts only: who waits in the lobby now, empty when nobody does (bubbles, composed). */
    lobby: CustomEvent<{ waiting: ParticipantInfo[] }>;
    /** The active speaker changed (hysteresis: a cough does not take over) (bubbles, composed). */
    "active-speaker": CustomEvent<ActiveSpeakerDetail>;
  }
}

/** The `error` event of `<webrtc-room>`; narrow a listener's `Event` to it (`event as RoomErrorEvent`). */
export type RoomErrorEvent = CustomEvent<RoomErrorDetail>;

/** Every event of `<webrtc-room>`, by name. */
export interface WebRtcRoomEventMap extends Pick<HTMLElementEventMap, "peer-joined" | "peer-left" | "connection-state" | "chat-message" | "room-state" | "lobby" | "active-speaker"> {
  /**
   * Something went wrong. Composed but deliberately not bubbling: a bubbling `error` event reaches
   * `window`, where `window.onerror` (and the error trackers hooked to it) would take it for an
   * uncaught script error.
   */
  error: RoomErrorEvent;
}

/** The `detail` of event `Name`. */
export type WebRtcRoomEventDetail<Name extends keyof WebRtcRoomEventMap> =
  WebRtcRoomEventMap[Name] extends CustomEvent<infer Detail> ? Detail : never;

/** Creates one of the element's events with the bubbling described in {@link WebRtcRoomEventMap}. */
export function roomEvent<Name extends keyof WebRtcRoomEventMap>(
  name: Name,
  detail: WebRtcRoomEventDetail<Name>,
): CustomEvent<WebRtcRoomEventDetail<Name>> {
  return new CustomEvent(name, { detail, bubbles: name !== "error", composed: true });
}

/** Which device a `device-change` event is about. */
export type DeviceKind = "camera" | "microphone" | "speaker";

/** Payload of the `device-change` event. */
export interface DeviceChangeDetail {
  kind: DeviceKind;
  /** The device used now (`MediaDeviceInfo.deviceId`; empty for the browser's default speaker). */
  deviceId: string;
  /** Its label as the pickers show it. */
  label: string;
  /** `chosen`: picked by the user; `lost`: the device in use went away and the default took over. */
  reason: "chosen" | "lost";
}

declare global {
  interface HTMLElementEventMap {
    /** The camera, microphone or speaker in use changed, while joined or on the pre-join screen (bubbles, composed). */
    "device-change": CustomEvent<DeviceChangeDetail>;
  }
}

/** The device events of `<webrtc-room>` (merged into the map above). */
export interface WebRtcRoomEventMap {
  "device-change": HTMLElementEventMap["device-change"];
}
