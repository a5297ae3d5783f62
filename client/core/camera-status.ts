/**
 * The `camera_status` payload: what a camera peer (`webrtc-room camera`) tells each peer of its
 * room over the pair's data channel (the mesh channel's `data` message, delivered to `peer-data`
 * listeners) when its source changes state, and to each peer as it connects. `<webrtc-room>`
 * shows "Camera offline" on the tile of a camera that last said `offline`. No I/O here: it is
 * read in browsers and written in Node.
 */

/** States a camera reports: see docs/cameras.md, "States and what they look like". */
export const CAMERA_STATUS_STATES = ["starting", "live", "offline", "idle"] as const;

/** A value of {@link CAMERA_STATUS_STATES}. */
export type CameraStatusState = (typeof CAMERA_STATUS_STATES)[number];

/** The application payload of a camera's state; see the module comment. */
export interface CameraStatusMessage {
  type: "camera_status";
  /** The camera's name (its display name in the room). */
  camera: string;
  state: CameraStatusState;
}

/** True for a {@link CameraStatusMessage} (from a peer that is a camera). */
export function isCameraStatusMessage(data: unknown): data is CameraStatusMessage {
  if (typeof data !== "object" || data === null) {
    return false;
  }
  const { type, camera, state } = data as { type?: unknown; camera?: unknown; state?: unknown };
  return type === "camera_status" && typeof camera === "string" && (CAMERA_STATUS_STATES as readonly unknown[]).includes(state);
}
