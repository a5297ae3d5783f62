/**
 * Stable error and close codes of the webrtc-room protocol.
 *
 * Clients act on `code`, never on the human-readable `message`, so these strings and numbers are
 * part of the wire contract: add new ones, never rename or renumber existing ones.
 */

/** Codes carried by `error` messages. Each maps to a one-line explanation used in docs and logs. */
export const ERROR_CODES = {
  bad_message: "The frame is not a JSON object of a known shape (wrong or missing fields).",
  unknown_type: "The message `type` is not part of the protocol.",
  binary_not_supported: "Binary frames are not accepted; send JSON text frames.",
  message_too_large: "The frame is larger than the server's maximum message size.",
  rate_limited: "Too many messages per second from this connection; the message was dropped.",
  unsupported_version: "The client's protocol version is not served by this server.",
  room_full: "The room already holds its maximum number of participants.",
  already_in_room: "This connection has already joined a room; leave it first.",
  not_in_room: "The message needs a joined room and this connection has not joined one.",
  unknown_target: "`targetId` is not a participant of the sender's room.",
  self_target: "A message cannot be addressed to its own sender.",
  not_logged_in: "The message needs `login` first.",
  already_logged_in: "This connection has already logged in.",
  unknown_user: "No online user has that user id.",
  not_in_call: "The message needs a call in progress that involves this user.",
  invalid_state: "The message does not fit the current state of the call.",
  resume_failed: "The session (room participant and/or login) cannot be resumed (unknown id, wrong token, grace window over, this connection already joined or logged in, or too many refused resumes from this address); join or log in as new.",
  internal: "The server failed while handling the message; it was logged and nothing else changed for this connection, which stays open.",
  avatar_not_allowed: "The login's `avatar` is a well-formed https: URL, but its host is not one this server lets avatars come from; log in with another avatar or none.",
  too_many_candidates: "The call is still ringing and the server already holds as many of this user's ICE candidates as it will (count or size); this one was dropped.",
  token_missing: "The server runs in token mode and the `new_user` or `login` carries no `token`; nothing changed.",
  token_invalid: "The `token` is not a well-formed signed token for this server (bad encoding, altered or missing signature, missing or malformed claims); nothing changed.",
  token_expired: "The `token`'s `exp` has passed (beyond the server's few seconds of clock tolerance); ask the application for a new one.",
  token_not_yet_valid: "The `token`'s `nbf` lies in the future (beyond the server's few seconds of clock tolerance).",
  token_wrong_audience: "The `token`'s `aud` does not name `webrtc-room`.",
  token_wrong_issuer: "The `token`'s `iss` is not the issuer this server is configured to trust.",
  token_wrong_room: "The join token's `room` is not the room the `new_user` asks for.",
  token_wrong_kind: "The `token` is of the other kind: a login token cannot join a room and a join token cannot log in.",
  token_algorithm: "The `token` is signed with an algorithm the server's key does not allow (`none` included).",
  not_host: "The message is for hosts of the room (`room_settings`, `remove_participant`, `mute_participant`, `lobby_admit`, `lobby_deny`) and the sender is not one; nothing changed.",
  room_locked: "A host locked the room: nobody joins until it is unlocked (hosts still do).",
  password_required: "The room has a password and the `new_user` carries none; join again with `password`.",
  wrong_password: "The `new_user`'s `password` is not the room's.",
  password_rate_limited: "Too many wrong passwords for this room from this address (5 a minute): every attempt, a right one too, is refused until the time the message names.",
  lobby_denied: "A host turned this participant away from the lobby (or removed it while it waited).",
  lobby_full: "The room's lobby already holds its maximum number of waiting participants (16).",
  user_online: "Open mode: the `login`'s `userID` is online on another connection (connected, or away within its resume grace window) and the login carries no `reclaimKey` matching the one that login received; nothing changed for anyone.",
  too_many_watchers: "The `watch` is for a user who already has as many watchers (and requests waiting for its answer) as the server allows (8); nothing changed.",
  too_many_watches: "The sender already watches (or waits to watch) as many users as the server allows (8); stop one first.",
  not_watching: "The message names a `watchId` that is not a watch (or request) of the sender: it ended, or never was.",
  allow_list_full: "The sender's `allowWatching` list already holds as many users as the server keeps (64); allow everyone (`\"*\"`) or remove one.",
  credentials_missing: "The server runs with accounts and the `login` carries no `password` (or the `new_user` no `account`); nothing changed.",
  bad_credentials: "The account's user id and password do not match: a wrong password and an unknown user id get this same answer; nothing changed.",
  too_many_attempts: "Too many wrong passwords for this account, or from this address, within the window (5 per account, 20 per address, a minute): every attempt, a right one too, is refused until the time the message names.",
  cluster_unsupported: "The server runs as one node of several sharing Redis (`--redis-url`) and this feature does not work across nodes yet (logins, calls, presence and watches; host controls, lobby and room passwords; hidden participants): nothing changed. docs/scaling.md lists what a cluster serves.",
  cluster_unavailable: "The server runs as one node of several and cannot reach the Redis they share: it takes no new joins or resumes until Redis is back (relays between its own participants go on). Try again in a few seconds.",
} as const;

/** A stable error code, as sent in `error.code`. */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * WebSocket close codes the server uses. 1xxx are standard (RFC 6455 / IANA registry);
 * 4xxx are webrtc-room's own.
 */
export const CLOSE_CODES = {
  /** Server shutting down or restarting: reconnect with backoff. */
  service_restart: 1012,
  /** Repeated protocol errors or flooding: the client is misbehaving, do not reconnect blindly. */
  too_many_errors: 4001,
  /** The client did not read fast enough and the server's send buffer reached its bound. */
  backpressure: 4002,
  /** Another connection logged in with the same user id and took over. */
  replaced: 4003,
  /**
   * A new connection resumed this connection's participant with its resume token (the client
   * reconnected while the server still thought this socket alive). Nobody is listening any more.
   */
  resumed_elsewhere: 4004,
} as const;

/** Name of a close code in {@link CLOSE_CODES}. */
export type CloseReason = keyof typeof CLOSE_CODES;

/** True when the close code means the client should reconnect by itself. */
export function shouldReconnectAfterClose(code: number): boolean {
  return code === CLOSE_CODES.service_restart || code === 1006 || code === 1001;
}
