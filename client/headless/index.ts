/**
 * Public entry of the headless peers (`import { runPeers } from "webrtc-room/headless"`): real
 * WebRTC participants in Node.js on the same core as the browser client, and the camera peer
 * (`Camera`: an ffmpeg-decoded source published into a room). Needs the optional peer
 * dependency `@roamhq/wrtc` (`npm install @roamhq/wrtc`).
 */
export {
  DEFAULT_DURATION_SECONDS,
  DEFAULT_TIMEOUT_SECONDS,
  HeadlessPeer,
  RunPhase,
  SYNTHETIC_VIDEO_FPS,
  SYNTHETIC_VIDEO_HEIGHT,
  SYNTHETIC_VIDEO_WIDTH,
  SyntheticVideo,
  WRTC_SETTLE_MS,
  distribution,
  roomSizes,
  runPeers,
  settleWebRtc,
  type Distribution,
  type HeadlessPeerOptions,
  type PeersParameters,
  type PeersProgress,
  type PeersReport,
  type PeersRunOptions,
} from "./peers.ts";
export {
  CAMERA_RETRY_BASE_DELAY_MS,
  CAMERA_RETRY_MAX_DELAY_MS,
  Camera,
  CameraSourceState,
  DEFAULT_CAMERA_FORMAT,
  DEFAULT_CAMERA_RETRY_POLICY,
  DEFAULT_IDLE_STOP_SECONDS,
  DEFAULT_STALL_SECONDS,
  FIRST_FRAME_TIMEOUT_SECONDS,
  isCameraStatusMessage,
  type CameraEvents,
  type CameraOptions,
  type CameraStatusMessage,
} from "./camera.ts";
export { FFMPEG_STOP_GRACE_MS, type FrameFormat, type RtspTransport } from "./ffmpeg-source.ts";
