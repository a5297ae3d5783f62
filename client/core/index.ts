/**
 * The framework-free client core: runs unchanged in a browser and in Node (with `@roamhq/wrtc`
 * and `ws` injected through the options).
 */
export { TypedEmitter, type EventMap, type Listener, type ListenerErrorHandler } from "./emitter.ts";
export {
  SignalingClient,
  SignalingState,
  type ReconnectPolicy,
  type SignalingClientOptions,
  type SignalingCloseInfo,
  type SignalingEvents,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./signaling-client.ts";
export {
  MeshPeer,
  PING_TIMEOUT_MS,
  PeerState,
  type CandidateFilter,
  type IncomingSignal,
  type MeshPeerOptions,
  type OutgoingSignal,
  type PeerErrorCode,
  type PeerEvents,
  type RemotePeer,
  type WebRtcImplementation,
} from "./peer.ts";
export {
  JOIN_TIMEOUT_MS,
  MeshError,
  MeshSession,
  MeshSessionState,
  type JoinInfo,
  type MeshErrorCode,
  type MeshSessionEvents,
  type MeshSessionOptions,
  type PeerLeftReason,
} from "./mesh-session.ts";
export { MESH_CHANNEL_MAX_BYTES, type MediaState } from "../../shared/protocol/mesh.ts";
export * from "./phone.ts";
