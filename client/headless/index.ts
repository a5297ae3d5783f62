/**
 * Public entry of the headless peers (`import { runPeers } from "webrtc-room/headless"`): real
 * WebRTC participants in Node.js on the same core as the browser client. Needs the optional peer
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
