/**
 * Client errors: one base class and one table of codes, like `shared/protocol/errors.ts` for the
 * server.
 *
 * Every error the client core reports (an `error` event, or a rejected promise) has a stable
 * `code`: either one of the server's codes (`room_full`, `resume_failed`…), passed through as the
 * server sent it, or one of {@link CLIENT_ERROR_CODES}, which say what went wrong on this side.
 * Applications act on `code`, never on `message`. The table is append-only, like the server's.
 */
import { ERROR_CODES, type ErrorCode } from "../../shared/protocol/errors.ts";

/** Codes of errors that arise in the client, each with a one-line explanation (used in docs and tests). */
export const CLIENT_ERROR_CODES = {
  signaling_unreachable: "The signaling socket could not be opened (server unreachable, upgrade refused, bad URL), or closed before the login completed.",
  signaling_closed: "The signaling connection is gone for good: reconnecting is off, the close code forbids it (4001, 4003, 4004), the reconnect policy gave up, or the client closed it.",
  signaling_messages_dropped: "Signaling messages accepted while reconnecting were never sent: the queue was full, the session restarted under a new id, or the connection closed.",
  bad_server_message: "The server sent a frame that is not a protocol message (binary, or not a JSON object with a `type`).",
  request_timeout: "The server did not answer a request (`new_user`, `resume`, `login`) within its bound.",
  request_interrupted: "The signaling socket was lost before the server answered a request; the request is void and is made again after the reconnection.",
  join_timeout: "The server did not acknowledge `new_user` with `joined` within `joinTimeoutMs` (after connecting, or after reconnecting as new).",
  resume_timeout: "The server did not answer `resume` within its bound; the session restarts under a new id.",
  peer_failed: "A peer connection failed (ICE failure, ICE disconnected past its bound, connect timeout, or forced); the pair is rebuilt.",
  bad_peer_message: "The remote peer sent a data-channel message this build does not understand, or one outside its role.",
  peer_error: "A call's peer connection reported an error (failure, or a request it does not support).",
  login_rejected: "The server refused the login; the error's `serverCode` says why (`bad_message`, `avatar_not_allowed`…).",
  login_timeout: "No `loginResponse` and directory within `loginTimeoutMs`.",
  not_ready: "The method needs a logged-in phone session or a joined room session, or was called in a state that does not allow it.",
  call_in_progress: "`call()` while another call is in progress; hang up first.",
  self_call: "`call()` with one's own user id.",
  no_incoming_call: "`accept()` with no incoming call ringing.",
  not_allowed: "The room's grants for this participant do not allow it: publishing media without `publish` (a viewer), or sending application data without `data`.",
  chat_too_long: "`sendChat()` with a text above the limit: 2000 characters or 4 KiB of UTF-8 (`CHAT_MAX_CHARS`, `CHAT_MAX_BYTES`). Nothing was sent.",
  chat_empty: "`sendChat()` with an empty text. Nothing was sent.",
} as const;

/** A code of an error that arises in the client. */
export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES;

/** Every code a client error may carry: the server's, passed through, and the client's own. */
export type WebRtcRoomErrorCode = ErrorCode | ClientErrorCode;

/** True when `code` is one of the client's own codes rather than one the server sent. */
export function isClientErrorCode(code: string): code is ClientErrorCode {
  return Object.hasOwn(CLIENT_ERROR_CODES, code);
}

/** True when `code` is one of the server's codes (`shared/protocol/errors.ts`). */
export function isServerErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** The one-line explanation of `code`, from the client's table or the server's. */
export function explainErrorCode(code: WebRtcRoomErrorCode): string {
  return isClientErrorCode(code) ? CLIENT_ERROR_CODES[code] : ERROR_CODES[code];
}

/**
 * Base class of every error the client core throws or rejects with. Subclasses narrow `code` to
 * the codes their component reports, so that `instanceof` tells who raised it and `code` what
 * happened.
 */
export class WebRtcRoomError<Code extends WebRtcRoomErrorCode = WebRtcRoomErrorCode> extends Error {
  override name = "WebRtcRoomError";
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
