/**
 * Room family of the wire protocol: the many-to-many mesh messages.
 *
 * Names and fields are kept from the original protocol (`send_aswer` is spelled that way on purpose). A client
 * joins with `new_user` (plus the `room` it wants), the server answers the joiner with `joined`
 * and broadcasts `connection_list` to the whole room; negotiation messages carry `targetId` and
 * are relayed only to that participant, stamped with the sender's `id` and `username`.
 */
import * as v from "valibot";
import { AccountCredentialsSchema } from "./accounts.ts";
import { displayTextSchema } from "./text.ts";

/** Protocol version spoken by this build. A client may announce the one it speaks in `new_user`. */
export const PROTOCOL_VERSION = 1;

/**
 * Largest `protocolVersion` a client may announce. Any other version in range is answered
 * `unsupported_version`; beyond it the number is not a version at all (`bad_message`).
 */
export const PROTOCOL_VERSION_MAX = 65_535;

/** Allowed room names: URL-safe, 1 to 64 characters, so that `/r/<room>` needs no escaping. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Longest display name accepted, in UTF-16 code units, after trimming. */
export const USERNAME_MAX_LENGTH = 64;

/** Server-assigned participant ids (nanoid alphabet). */
const ParticipantIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/));

/** A room name: {@link ROOM_NAME_PATTERN}. */
export const RoomNameSchema = v.pipe(v.string(), v.regex(ROOM_NAME_PATTERN, "room names are 1 to 64 letters, digits, _ or -"));

/**
 * Display name: trimmed, 1 to 64 characters, no control characters, unpaired surrogates or bidi
 * controls, and not only invisible characters (the rules are in `text.ts`).
 */
export const UsernameSchema = displayTextSchema("username", USERNAME_MAX_LENGTH);

/**
 * Longest SDP accepted, in UTF-16 code units. The frame bound (`maxMessageBytes`, 64 KiB by
 * default) is the one that bites; this cap only keeps a server configured with much larger frames
 * from relaying or holding SDP of any size. A real offer is a few KB, with many tracks tens of KB.
 */
export const SDP_MAX_LENGTH = 256 * 1024;

/** Longest ICE `candidate` line accepted. A real one is 100 to 300 characters (RFC 8839 grammar). */
export const ICE_CANDIDATE_MAX_LENGTH = 1024;

/** Longest `sdpMid` accepted. Browsers use the m-line index ("0", "1"…) or short tokens. */
export const SDP_MID_MAX_LENGTH = 64;

/** Longest `usernameFragment` accepted. RFC 8839 allows 4 to 256 ICE characters. */
export const USERNAME_FRAGMENT_MAX_LENGTH = 256;

/** Largest `sdpMLineIndex` accepted: far above any real number of m-lines. */
export const SDP_MLINE_INDEX_MAX = 1024;

/** The `sdp` string of a session description, bounded as {@link SDP_MAX_LENGTH} says. */
export const SdpTextSchema = v.pipe(v.string(), v.maxLength(SDP_MAX_LENGTH, `SDP must be at most ${SDP_MAX_LENGTH} characters`));

/** A session description as produced by `RTCPeerConnection.createOffer/createAnswer`. */
function sessionDescriptionSchema<Kind extends "offer" | "answer">(kind: Kind) {
  return v.object({ type: v.literal(kind), sdp: SdpTextSchema });
}

/**
 * An ICE candidate as produced by `RTCPeerConnection.onicecandidate` (`RTCIceCandidateInit`). Every
 * field is bounded, so that candidates the server holds for a ringing call cost a known amount.
 */
export const IceCandidateSchema = v.object({
  candidate: v.pipe(v.string(), v.maxLength(ICE_CANDIDATE_MAX_LENGTH, `candidate must be at most ${ICE_CANDIDATE_MAX_LENGTH} characters`)),
  sdpMid: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(SDP_MID_MAX_LENGTH, `sdpMid must be at most ${SDP_MID_MAX_LENGTH} characters`)))),
  // `v.integer()` refuses Infinity (JSON's `1e999`) and NaN as well as fractions.
  sdpMLineIndex: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(SDP_MLINE_INDEX_MAX)))),
  usernameFragment: v.optional(
    v.nullable(v.pipe(v.string(), v.maxLength(USERNAME_FRAGMENT_MAX_LENGTH, `usernameFragment must be at most ${USERNAME_FRAGMENT_MAX_LENGTH} characters`))),
  ),
});

/** Longest signed token (`new_user.token`, `login.token`) accepted, in characters. */
export const AUTH_TOKEN_MAX_LENGTH = 4096;

/** A signed join or login token (JWS compact serialization), bounded before any verification. */
export const AuthTokenSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(AUTH_TOKEN_MAX_LENGTH, `token must be at most ${AUTH_TOKEN_MAX_LENGTH} characters`));

/** Longest room password accepted, in UTF-16 code units. */
export const ROOM_PASSWORD_MAX_LENGTH = 128;

/** A room password: 1 to {@link ROOM_PASSWORD_MAX_LENGTH} characters, compared after Unicode NFC normalization. */
export const RoomPasswordSchema = v.pipe(
  v.string(),
  v.minLength(1, "password must not be empty"),
  v.maxLength(ROOM_PASSWORD_MAX_LENGTH, `password must be at most ${ROOM_PASSWORD_MAX_LENGTH} characters`),
);

/**
 * `new_user`: join `room` under the display name `username`. `token` is the join token a
 * token-mode server requires (docs/security.md); an open-mode server ignores it.
 */
export const NewUserSchema = v.object({
  type: v.literal("new_user"),
  room: RoomNameSchema,
  username: UsernameSchema,
  protocolVersion: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(PROTOCOL_VERSION_MAX))),
  token: v.optional(AuthTokenSchema),
  /** The room password, when a host set one (docs/security.md); hosts and an unprotected room need none. */
  password: v.optional(RoomPasswordSchema),
  /**
   * The account to join as, which a server running with accounts requires (docs/security.md): the
   * display name and grants then come from the account, and `username` is ignored.
   */
  account: v.optional(AccountCredentialsSchema),
});

/** `send_offer`: an SDP offer for `targetId`. */
export const SendOfferSchema = v.object({
  type: v.literal("send_offer"),
  targetId: ParticipantIdSchema,
  sdp: sessionDescriptionSchema("offer"),
});

/** `send_aswer` (sic): an SDP answer for `targetId`. */
export const SendAnswerSchema = v.object({
  type: v.literal("send_aswer"),
  targetId: ParticipantIdSchema,
  sdp: sessionDescriptionSchema("answer"),
});

/** `new_candidate`: one trickled ICE candidate for `targetId`. */
export const NewCandidateSchema = v.object({
  type: v.literal("new_candidate"),
  targetId: ParticipantIdSchema,
  ice: IceCandidateSchema,
});

/** `close_connection` from a client: leave the room it joined. */
export const LeaveRoomSchema = v.object({ type: v.literal("close_connection") });

/** Longest resume token accepted (issued ones are 32 characters; the bound only caps the input). */
export const RESUME_TOKEN_MAX_LENGTH = 128;

/**
 * `resume`: after a signaling reconnect, take over session `id` (its room membership and/or its
 * login) on this new connection. Only within the grace window after the old connection was lost,
 * and only with the secret `resumeToken` that `joined` or `loginResponse` (or the last `resumed`)
 * gave that session.
 */
export const ResumeSchema = v.object({
  type: v.literal("resume"),
  id: ParticipantIdSchema,
  resumeToken: v.pipe(v.string(), v.minLength(1), v.maxLength(RESUME_TOKEN_MAX_LENGTH)),
});

/**
 * `refresh_ice_servers`: ask for ICE servers with fresh TURN credentials before the current ones
 * expire (`iceServersExpireAtMs`). Answered with `ice_servers`.
 */
export const RefreshIceServersSchema = v.object({ type: v.literal("refresh_ice_servers") });

/**
 * `room_settings` (hosts only): lock or unlock the room, set (a string) or clear (`null`) its
 * password, turn its lobby on or off. At least one field; answered by the `room_state` broadcast.
 */
export const RoomSettingsSchema = v.object({
  type: v.literal("room_settings"),
  locked: v.optional(v.boolean()),
  password: v.optional(v.nullable(RoomPasswordSchema)),
  lobby: v.optional(v.boolean()),
});

/** `remove_participant` (hosts only): the target leaves the room, or the lobby, for good. */
export const RemoveParticipantSchema = v.object({
  type: v.literal("remove_participant"),
  targetId: ParticipantIdSchema,
});

/** The kinds of media a host may ask a participant to mute. */
export const MUTE_KINDS = ["audio", "video"] as const;

/** A value of {@link MUTE_KINDS}. */
export type MuteKind = (typeof MUTE_KINDS)[number];

/** `mute_participant` (hosts only): asks the target to stop sending `kind`; its client honours it. */
export const MuteParticipantSchema = v.object({
  type: v.literal("mute_participant"),
  targetId: ParticipantIdSchema,
  kind: v.picklist(MUTE_KINDS),
});

/** `lobby_admit` (hosts only): lets participant `id` in from the lobby. */
export const LobbyAdmitSchema = v.object({ type: v.literal("lobby_admit"), id: ParticipantIdSchema });

/** `lobby_deny` (hosts only): turns participant `id` in the lobby away. */
export const LobbyDenySchema = v.object({ type: v.literal("lobby_deny"), id: ParticipantIdSchema });

/**
 * What a participant may do in its room, as `joined` and `resumed` state it. The server enforces
 * `host` and `hidden`; `publish` and `data` are honoured by the participant's own client, since
 * media and data flow peer to peer (docs/security.md).
 */
export interface RoomGrants {
  publish: boolean;
  data: boolean;
  host: boolean;
  hidden: boolean;
}

/** A room's access settings and who hosts it (hidden hosts are never listed). */
export interface RoomState {
  locked: boolean;
  /** True when a password is set; the password itself never leaves the server, nor its hash. */
  passwordSet: boolean;
  lobby: boolean;
  /** Participant ids of the room's visible hosts. */
  hosts: string[];
}

/** Session description carried in `send_offer` / `send_aswer`. */
export type SessionDescription = { type: "offer" | "answer"; sdp: string };

/** ICE candidate carried in `new_candidate`. */
export type IceCandidate = v.InferOutput<typeof IceCandidateSchema>;

/** One participant in a room's `connectionList`. */
export interface Participant {
  id: string;
  username: string;
}

/** One ICE server handed to clients, in `RTCIceServer` shape. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/**
 * The uplink video budget, in kbit/s, that a server announces in `joined` unless configured
 * otherwise, and that a client uses when the server announces none: a few Mbit/s, what most
 * home uplinks carry beside other traffic.
 */
export const DEFAULT_UPLINK_BUDGET_KBPS = 2_500;

/** Room messages the server sends. `id` is always the server-stamped sender. */
export type RoomServerMessage =
  | {
      /** Acknowledges `new_user` to the joiner only. */
      type: "joined";
      id: string;
      room: string;
      username: string;
      protocolVersion: number;
      iceServers: IceServer[];
      /** Largest frame the server accepts, in bytes. */
      maxMessageBytes: number;
      roomCapacity: number;
      /** Secret for `resume` after a signaling reconnect; never share it. Replaced by each `resumed`. */
      resumeToken: string;
      /** How long after losing the connection the participant may still `resume`, in milliseconds. */
      resumeGraceMs: number;
      /**
       * When the TURN credentials in `iceServers` stop being accepted (Unix epoch milliseconds);
       * absent when they do not expire. Ask for new ones with `refresh_ice_servers` before then.
       */
      iceServersExpireAtMs?: number;
      /** What this participant may do (from its join token in token mode). */
      grants: RoomGrants;
      /** The room's settings and hosts as they are now; `room_state` tells each change. */
      roomState: RoomState;
      /**
       * The uplink video budget a participant divides among its video senders, in kbit/s, unless
       * its application sets its own. Absent from older servers.
       */
      uplinkBudgetKbps?: number;
    }
  | {
      /**
       * Acknowledges `resume` on the new connection: the whole session (room membership and/or
       * login) is back. `room`, `username` and `list` (the room as it is now) are present when the
       * session is in a room, `login` when it is logged in. A logged-in session then gets the whole
       * `presence` directory; the other messages that were addressed to the session while it was
       * away follow, in order.
       */
      type: "resumed";
      id: string;
      room?: string;
      username?: string;
      list?: Participant[];
      /** The session's login, as `loginResponse accepted` stated it. */
      login?: { userID: string; username: string; avatar?: string };
      /** With `room`: what this participant may do (host status kept across the blip). */
      grants?: RoomGrants;
      /** With `room`: the room's settings and hosts as they are now. */
      roomState?: RoomState;
      iceServers: IceServer[];
      iceServersExpireAtMs?: number;
      /** The token for the next `resume`; the previous one is no longer accepted. */
      resumeToken: string;
    }
  | {
      /** Answers `refresh_ice_servers`: fresh TURN credentials and their expiry. */
      type: "ice_servers";
      iceServers: IceServer[];
      iceServersExpireAtMs?: number;
    }
  | { type: "connection_list"; newUserId: string; list: Participant[] }
  | { type: "send_offer"; id: string; username: string; targetId: string; sdp: SessionDescription }
  | { type: "send_aswer"; id: string; username: string; targetId: string; sdp: SessionDescription }
  | { type: "new_candidate"; id: string; username: string; targetId: string; ice: IceCandidate }
  | { type: "close_connection"; id: string }
  | { type: "rest_connection_list"; list: Participant[] }
  /** To every member when a setting or the list of hosts changes, and in answer to `room_settings`. */
  | ({ type: "room_state" } & RoomState)
  /** To a participant a host removed (`by`): it is out of the room (or the lobby) and cannot resume. */
  | { type: "removed"; by: string }
  /** To a participant a host (`by`) asks to stop sending `kind`. */
  | { type: "mute_request"; by: string; kind: MuteKind }
  /** Answers `new_user` when the room has a lobby: wait for a host; `joined` follows on admission. */
  | { type: "lobby_waiting"; room: string; id: string }
  /** To every host: who waits in the lobby, on each change (and when a host joins while someone waits). */
  | { type: "lobby"; waiting: Participant[] };
