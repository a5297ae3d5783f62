/**
 * One-to-one calls with presence (the call and presence families), framework-free: runs unchanged in a browser
 * and in Node (with `@roamhq/wrtc` and `ws` injected through the options). The phone's public
 * surface, next to the mesh's in `index.ts`.
 */
export {
  CallEndReason,
  CallState,
  DEFAULT_PHONE_ICE_SERVERS,
  LOGIN_TIMEOUT_MS,
  PEER_LOSS_GRACE_MS,
  PhoneError,
  PhoneSession,
  PhoneSessionState,
  type CallDirection,
  type CallEnd,
  type CallParty,
  type MissedCall,
  type PhoneCall,
  type PhoneCloseInfo,
  type PhoneErrorCode,
  type PhoneEventErrorCode,
  type PhoneLogin,
  type PhoneSessionEvents,
  type PhoneSessionOptions,
  type WatchStreamSource,
} from "./phone-session.ts";
export {
  WatchEndReason,
  WatchState,
  type PhoneWatch,
  type WatchEnd,
  type WatchEvents,
  type WatchParty,
  type WatchRequest,
  type WatchRole,
} from "./phone-watches.ts";
export {
  BrowserReclaimKeyStore,
  MemoryReclaimKeyStore,
  RECLAIM_KEY_STORAGE_PREFIX,
  defaultReclaimKeyStore,
  type KeyValueStorage,
  type ReclaimKeyStore,
} from "./reclaim-keys.ts";
export type { IceServer, PresenceStatus, PresenceUser, SelfSetStatus, Watcher } from "../../shared/protocol/index.ts";
