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
  type VideoFitOutcome,
  type WebRtcImplementation,
} from "./peer-link.ts";
export { CHAT_OUTBOX_MAX_MESSAGES, DataChannelRouter, decodeChannelMessage, encodeChannelMessage, type DataChannelHandlers, type RenegotiationRequest } from "./data-channel.ts";
export {
  CLIENT_ERROR_CODES,
  WebRtcRoomError,
  explainErrorCode,
  isClientErrorCode,
  isServerErrorCode,
  type ClientErrorCode,
  type WebRtcRoomErrorCode,
} from "./errors.ts";
export {
  ICE_REFRESH_AT_FRACTION,
  MIN_ICE_REFRESH_DELAY_MS,
  REQUEST_TIMEOUT_MS,
  ServerConnection,
  ServerConnectionState,
  ServerRefusalError,
  chooseRecoveryPath,
  iceRefreshDelayMs,
  type CallAnswer,
  type ConnectionErrorCode,
  type IceServersOrigin,
  type JoinedMessage,
  type JoinRoomOptions,
  type LobbyWaitingMessage,
  type LoginRequest,
  type LoginResponseMessage,
  type RecoveryPath,
  type RestartReason,
  type ResumedRoom,
  type RoomMessage,
  type RoomSettings,
  type ServerConnectionEvents,
  type ServerConnectionOptions,
  type ServerErrorMessage,
  type ServerSession,
  type SessionLogin,
} from "./server-connection.ts";
export {
  PEER_REBUILD_BASE_DELAY_MS,
  PEER_REBUILD_MAX_DELAY_MS,
  peerRebuildDelayMs,
} from "./room-decisions.ts";
export {
  JOIN_TIMEOUT_MS,
  MeshError,
  MeshSession,
  MeshSessionState,
  RoomError,
  RoomSession,
  RoomSessionState,
  type JoinInfo,
  type MeshErrorCode,
  type MeshSessionEvents,
  type MeshSessionOptions,
  type PeerLeftReason,
  type RoomErrorCode,
  type RoomSessionEvents,
  type RoomSessionOptions,
} from "./room-session.ts";
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
export {
  DEFAULT_UPLINK_BUDGET_KBPS,
  SOURCE_CAP_KBPS,
  SOURCE_FLOOR_KBPS,
  SOURCE_WEIGHTS,
  VideoBandwidth,
  fitVideoSenders,
  type AppliedVideoFit,
  type VideoEncodingFit,
  type VideoFit,
  type VideoHint,
  type VideoSenderSpec,
  type VideoSource,
} from "./bandwidth.ts";
export {
  AUDIO_LEVEL_INTERVAL_MS,
  NO_SPEAKER,
  SPEAKER_GAP_MS,
  SPEAKER_SWITCH_MS,
  SPEAKING_LEVEL,
  SpeakerDetector,
  levelBetween,
  nextSpeakerState,
  type AudioReading,
  type PeerAudioLevel,
  type SpeakerRules,
  type SpeakerState,
} from "./speaking.ts";
export { SCREEN_CONTENT_HINT, ScreenShare, yieldsScreenTo, type ScreenClaim, type ScreenShareEndReason } from "./screen-share.ts";
export { CHAT_MAX_BYTES, CHAT_MAX_CHARS, MESH_CHANNEL_MAX_BYTES, isChatTextWithinLimits, type MediaState } from "../../shared/protocol/mesh.ts";
export type { ChatMessage } from "./chat.ts";
export { MUTE_KINDS, ROOM_PASSWORD_MAX_LENGTH, type MuteKind, type RoomGrants, type RoomState } from "../../shared/protocol/room.ts";
export { ACCOUNT_PASSWORD_MAX_LENGTH, type AccountCredentials } from "../../shared/protocol/accounts.ts";
export * from "./phone.ts";
export { CAMERA_STATUS_STATES, isCameraStatusMessage, type CameraStatusMessage, type CameraStatusState } from "./camera-status.ts";
