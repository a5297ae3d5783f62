/**
 * The sentences `<webrtc-phone>` shows: presence statuses, why a call ended, why signing in
 * failed. Kept apart from the markup.
 */
import type { CallEnd, CallParty, PhoneCall, PhoneWatch, PresenceStatus, WatchEnd } from "../../core/phone.ts";
import type { PhoneFailure } from "./phone-controller.ts";
import type { DisconnectedText } from "../shared/connection-notice.ts";

/** Label of each presence status in the list of people. */
export const STATUS_LABELS: Record<PresenceStatus, string> = {
  online: "Available",
  connecting: "On the phone",
  in_call: "In a call",
  ending: "Ending a call",
  unavailable: "Unavailable",
};

/** How the outcome of `call` reads, for a notice in the lobby; `undefined` when nothing needs saying. */
export function endNotice(call: Pick<PhoneCall, "direction" | "remote">, end: CallEnd): string | undefined {
  const name = nameOf(call.remote);
  switch (end.reason) {
    case "cancelled":
      // The caller knows it cancelled; the callee gets the missed-call notice instead.
      return undefined;
    case "rejected":
      return end.byLocal ? undefined : `${name} declined the call.`;
    case "no_answer":
      return call.direction === "outgoing" ? `${name} did not answer.` : undefined;
    case "not_online":
      return `${name} is not online any more.`;
    case "busy":
      return `${name} is busy on another call.`;
    case "exception":
      return end.byLocal ? "The call could not start: your camera or microphone failed." : `${name} could not start the call.`;
    case "hang_up":
      return end.byLocal ? "Call ended." : `${name} ended the call.`;
    case "media_failed":
      return end.byLocal ? "The call dropped: the connection failed." : `The call with ${name} dropped.`;
    case "disconnected":
      return end.byLocal ? "The call ended: you lost the connection." : `The call ended: ${name} lost the connection.`;
    case "replaced":
      return end.byLocal ? "The call ended: you signed in elsewhere." : `The call ended: ${name} signed in elsewhere.`;
    case "refused":
      return `The call could not be placed${end.message ? ` (${end.message})` : ""}.`;
    case "session_lost":
      return "The call ended: you were away from the server too long.";
  }
}

/** How the end of this user's watch of someone reads; `undefined` when nothing needs saying. */
export function watchEndNotice(watch: Pick<PhoneWatch, "remote">, end: WatchEnd): string | undefined {
  const name = watch.remote.username || watch.remote.userID;
  switch (end.reason) {
    case "stopped":
      return end.byLocal ? undefined : `${name} stopped sharing the camera.`;
    case "denied":
      return `${name} did not let you watch.`;
    case "offline":
      return `${name} is not online any more.`;
    case "timeout":
      return `${name} did not answer your request to watch.`;
    case "disconnected":
    case "replaced":
    case "session_lost":
      return `Watching ${name} ended: the connection was lost.`;
    case "media_failed":
      return `Watching ${name} ended: the video connection failed.`;
    case "refused":
      return `You cannot watch ${name} now${end.message ? ` (${end.message})` : ""}.`;
  }
}

/** Title and explanation for a failed session. */
export function failureText(failure: PhoneFailure | undefined): { title: string; detail: string } {
  switch (failure?.code) {
    case "login_rejected":
      return { title: "That name cannot be used", detail: failure.message };
    case "user_online":
      return { title: "This user is signed in elsewhere", detail: "Sign out there first, or sign in with another name." };
    case "bad_credentials":
      return { title: "Wrong user name or password", detail: "Check them and sign in again." };
    case "too_many_attempts":
      return { title: "Too many wrong passwords", detail: "Wait a minute, then sign in again." };
    case "credentials_missing":
      return { title: "This server needs a password", detail: "Sign in with your user name and password." };
    case "signaling_unreachable":
      return { title: "Cannot reach the server", detail: "Check your connection, then try again." };
    case "login_timeout":
      return { title: "The server did not answer", detail: "Signing in took too long. Try again in a moment." };
    case "signaling_closed":
      return { title: "Connection lost", detail: "The connection to the server closed." };
    case "replaced":
      return { title: "Signed in elsewhere", detail: "Someone signed in with this name in another tab or device." };
    case "bad_server_url":
      return { title: "Wrong server address", detail: failure.message };
    default:
      return { title: "Something went wrong", detail: failure?.message ?? "Try signing in again." };
  }
}

function nameOf(party: CallParty): string {
  return party.username || party.userID;
}

/** Over a watch view while the watched user is `unavailable` (a camera whose source is down). */
export const CAMERA_OFFLINE_TEXT = "Camera offline";

/** What the "You were disconnected" panel says on `/call`, and its button. */
export const DISCONNECTED_TEXT: DisconnectedText = {
  detail: "The server gave up your sign-in, and any call with it. Still trying to get you back…",
  action: "Sign in again",
};
