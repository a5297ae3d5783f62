/**
 * The sentences the room shows for missing media and failed joins, kept apart from the markup.
 */
import type { MuteKind } from "../../core/index.ts";
import type { LocalMedia, MediaProblem } from "../shared/local-media.ts";

const PROBLEM_REASONS: Record<MediaProblem, string> = {
  denied: "access blocked",
  missing: "not found",
  busy: "in use by another app",
  unsupported: "this page needs https",
};

/**
 * The notice for missing local media, or `undefined` when both camera and microphone work. It
 * always ends with what still works, so that nobody wonders whether the room is broken.
 */
export function mediaNotice(media: LocalMedia): string | undefined {
  const { audioProblem, videoProblem } = media;
  if (audioProblem && videoProblem) {
    const reason = audioProblem === videoProblem
      ? `camera and microphone: ${PROBLEM_REASONS[videoProblem]}`
      : `camera: ${PROBLEM_REASONS[videoProblem]}; microphone: ${PROBLEM_REASONS[audioProblem]}`;
    return `No camera or microphone (${reason}). You can still see and hear everyone.`;
  }
  if (videoProblem) {
    return `Camera unavailable (${PROBLEM_REASONS[videoProblem]}). Others can hear you, and you can see them.`;
  }
  if (audioProblem) {
    return `Microphone unavailable (${PROBLEM_REASONS[audioProblem]}). Others can see you, and you can hear them.`;
  }
  return undefined;
}

/**
 * What the panel of a failed stay offers: a "Try again" button (`retry`), a "Rejoin" button
 * (`rejoin`: after being removed), a password field (`password`), or nothing (`none`: trying
 * again cannot help, e.g. without an invitation).
 */
export type FailureAction = "retry" | "rejoin" | "password" | "none";

/** What the panel of a failed stay says and offers. */
export interface FailureView {
  title: string;
  detail: string;
  action: FailureAction;
  /** `not_allowed` for a refused join token (the "not allowed to join" panel), else the failure's code. */
  reason: string;
}

/** What an invalid `room` attribute says (the `invalid_room` error's message and the panel's text). */
export const INVALID_ROOM_MESSAGE = "Room names use only letters, digits, - and _, up to 64 characters.";

/** The title of the panel shown when the server refuses the join token (or its absence). */
export const NOT_ALLOWED_TITLE = "You are not allowed to join";

/** Why a join token was refused, in plain words, by `token_*` code. */
const TOKEN_REFUSALS: Readonly<Record<string, string>> = {
  token_missing: "This room is by invitation only, and this page brought no invitation. Open the room from the application that invited you.",
  token_expired: "Your invitation has expired. Ask for a new link, then open it again.",
  token_not_yet_valid: "Your invitation is not valid yet. Try again in a moment; if this keeps happening, check this device's clock.",
  token_wrong_room: "Your invitation is for another room. Ask for a link to this one.",
  token_wrong_kind: "Your invitation is not a room invitation. Ask for a new link.",
};

/**
 * Title, explanation and action for a failed stay; a code this build does not know falls back to
 * the server's message. The code is any string: the room-protection codes (`password_required`,
 * `room_locked`…) come from servers newer than this build's code table.
 */
export function failureText(failure: { code: string; message: string } | undefined): FailureView {
  const code = failure?.code ?? "";
  if (code.startsWith("token_")) {
    const detail = TOKEN_REFUSALS[code] ?? "Your invitation is not valid for this server. Ask for a new link.";
    return { title: NOT_ALLOWED_TITLE, detail, action: code === "token_not_yet_valid" ? "retry" : "none", reason: "not_allowed" };
  }
  const view = (title: string, detail: string, action: FailureAction = "retry"): FailureView => ({ title, detail, action, reason: code });
  const accountRefusal = ACCOUNT_REFUSALS[code];
  if (accountRefusal !== undefined) {
    return view(accountRefusal.title, accountRefusal.detail, "none");
  }
  switch (code) {
    case "room_full":
      return view("This room is full", "Every seat is taken. Try again when someone leaves.");
    case "password_required":
      return view("This room has a password", "Enter the password the host gave you.", "password");
    case "wrong_password":
      return view("Wrong password", "That password is not right. Check it and enter it again.", "password");
    case "password_rate_limited":
      return view("Too many wrong passwords", "Wait a minute, then try again.");
    case "room_locked":
      return view("This room is locked", "A host locked the room. Ask them to unlock it, then try again.");
    case "lobby_denied":
      return view("You were not let in", "A host declined your request to join.");
    case "removed":
      // No automatic rejoin; a rejoin the room refuses (locked) shows that refusal's own panel.
      return view("A host removed you from the room", "Your camera and microphone are off.", "rejoin");
    case "signaling_unreachable":
      return view("Cannot reach the server", "Check your connection, then try again.");
    case "signaling_closed":
      return view("Connection lost", "The connection to the server closed.");
    case "join_timeout":
      return view("The server did not answer", "Joining took too long. Try again in a moment.");
    case "unsupported_version":
      return view("Update needed", "This page is older than the server. Reload it.");
    case "invalid_room":
    case "bad_message":
      // `bad_message` from a server whose rules are stricter than this build's: its text is a schema's.
      return code === "invalid_room"
        ? view("This room name cannot be used", `${INVALID_ROOM_MESSAGE} Check the link.`, "none")
        : view("Could not join", "The server did not accept this page's request. Reload the page and try again.");
    case "bad_server_url":
      return view("Wrong server address", failure?.message ?? "");
    default:
      return view("Could not join", failure?.message ?? "Something went wrong.");
  }
}

/** The notice shown when a host muted this participant's microphone or turned its camera off. */
export function hostMuteNotice(kind: MuteKind): string {
  return kind === "audio"
    ? "A host muted your microphone. You can unmute it yourself."
    : "A host turned off your camera. You can turn it back on yourself.";
}

/**
 * What a screen reader announces when the lobby changes: who started waiting since `previous`
 * ("Ada is waiting in the lobby", "Ada and Grace are waiting…", "3 people are waiting…"), or
 * `undefined` when nobody new waits (someone left the lobby, or was admitted).
 */
export function lobbyAnnouncement(
  previous: readonly { id: string }[],
  next: readonly { id: string; username: string }[],
): string | undefined {
  const known = new Set(previous.map((participant) => participant.id));
  const arrivals = next.filter((participant) => !known.has(participant.id)).map((participant) => participant.username);
  const [first, second] = arrivals;
  if (first === undefined) {
    return undefined;
  }
  if (second === undefined) {
    return `${first} is waiting in the lobby`;
  }
  return arrivals.length === 2 ? `${first} and ${second} are waiting in the lobby` : `${arrivals.length} people are waiting in the lobby`;
}

/** Why a server running with accounts refused the join, by code (the page's sign-in form offers to try again). */
const ACCOUNT_REFUSALS: Readonly<Record<string, { title: string; detail: string }>> = {
  credentials_missing: { title: "Sign in to join", detail: "This server needs your user name and password." },
  bad_credentials: { title: "Wrong user name or password", detail: "Check them and sign in again." },
  too_many_attempts: { title: "Too many wrong passwords", detail: "Wait a minute, then sign in again." },
};

/** The text on a camera peer's tile while its source is down (`camera_status` `offline`). */
export const CAMERA_OFFLINE_TEXT = "Camera offline";

/** What a screen reader hears when camera `name`'s source goes down. */
export function cameraOfflineAnnouncement(name: string): string {
  return `${name}: camera offline`;
}

/** What a screen reader hears when camera `name`'s picture is back. */
export function cameraBackAnnouncement(name: string): string {
  return `${name}: camera back online`;
}

/**
 * What the settings and the live region say when the `kind` device in use (`lost`, by label)
 * went away: which one took over, or that none could.
 */
export function deviceLostNotice(kind: "camera" | "microphone", lost: string, replacement: string | undefined): string {
  const name = kind === "camera" ? "Camera" : "Microphone";
  return replacement === undefined
    ? `${name} "${lost}" was disconnected, and no other ${kind} could be opened.`
    : `${name} "${lost}" was disconnected. Using "${replacement}" instead.`;
}

/** What the settings say when the `kind` device the user picked could not be opened. */
export function deviceRefusedNotice(kind: "camera" | "microphone", problem: MediaProblem): string {
  return `That ${kind} could not be used (${PROBLEM_REASONS[problem]}). The previous one stays on.`;
}
