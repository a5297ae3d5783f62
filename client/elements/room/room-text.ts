/**
 * The sentences the room shows for missing media and failed joins, kept apart from the markup.
 */
import type { LocalMedia, MediaProblem } from "../shared/local-media.ts";
import type { RoomFailure } from "./room-controller.ts";

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

/** Title and explanation for a failed stay. */
export function failureText(failure: RoomFailure | undefined): { title: string; detail: string } {
  switch (failure?.code) {
    case "room_full":
      return { title: "This room is full", detail: "Every seat is taken. Try again when someone leaves." };
    case "signaling_unreachable":
      return { title: "Cannot reach the server", detail: "Check your connection, then try again." };
    case "signaling_closed":
      return { title: "Connection lost", detail: "The connection to the server closed." };
    case "join_timeout":
      return { title: "The server did not answer", detail: "Joining took too long. Try again in a moment." };
    case "unsupported_version":
      return { title: "Update needed", detail: "This page is older than the server. Reload it." };
    case "bad_server_url":
      return { title: "Wrong server address", detail: failure.message };
    default:
      return { title: "Could not join", detail: failure?.message ?? "Something went wrong." };
  }
}
