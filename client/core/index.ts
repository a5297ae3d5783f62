/**
 * The framework-free client core: runs unchanged in a browser and in Node (with `@roamhq/wrtc`
 * and `ws` injected through the options).
 */
export { TypedEmitter, type EventMap, type Listener, type ListenerErrorHandler } from "./emitter.ts";
export {
  DEFAULT_RECONNECT_POLICY,
  RECONNECT_BASE_DELAY_MS,
  RECONNECT_FACTOR,
  RECONNECT_MAX_ATTEMPTS,
  RECONNECT_MAX_DELAY_MS,
  exponentialBackoff,
  type BackoffOptions,
  type ReconnectPolicy,
} from "./reconnect.ts";
export {
  MAX_QUEUED_MESSAGES,
  SignalingClient,
  SignalingState,
  defaultShouldReconnect,
  type DroppedReason,
  type SignalingClientOptions,
  type SignalingCloseInfo,
  type SignalingEvents,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./signaling-client.ts";
export {
  ICE_DISCONNECTED_TIMEOUT_MS,
  MeshPeer,
  PEER_CONNECT_TIMEOUT_MS,
  PING_TIMEOUT_MS,
  PeerLink,
  PeerState,
  sdpSessionId,
  type CandidateFilter,
  type OfferKind,
  type RtcConfigurationExtras,
  type IncomingSignal,
  type MeshPeerOptions,
  type OutgoingSignal,
  type PeerErrorCode,
  type PeerEvents,
  type PeerLinkOptions,
  type PeerSignal,
  type RemotePeer,
  type RemotePublication,
  type WebRtcImplementation,
} from "./peer-link.ts";
export { DataChannelRouter, decodeChannelMessage, encodeChannelMessage, type DataChannelHandlers, type RenegotiationRequest } from "./data-channel.ts";
export {
  ICE_REFRESH_AT_FRACTION,
  JOIN_TIMEOUT_MS,
  MIN_ICE_REFRESH_DELAY_MS,
  PEER_REBUILD_BASE_DELAY_MS,
  PEER_REBUILD_MAX_DELAY_MS,
  MeshError,
  peerRebuildDelayMs,
  MeshSession,
  MeshSessionState,
  type JoinInfo,
  type MeshErrorCode,
  type MeshSessionEvents,
  type MeshSessionOptions,
  type PeerLeftReason,
} from "./mesh-session.ts";
export {
  LocalPublications,
  TRACK_SOURCES,
  TRACK_SOURCE_GROUP,
  TRACK_SOURCE_KIND,
  diffPublications,
  matchRemotePublications,
  type LocalPublication,
  type LocalPublicationsOptions,
  type PublicationTarget,
  type ReceivedTrack,
  type SourceAnnouncement,
  type TrackSource,
} from "./publications.ts";
export { MESH_CHANNEL_MAX_BYTES, type MediaState } from "../../shared/protocol/mesh.ts";
export * from "./phone.ts";
