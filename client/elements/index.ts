/**
 * Entry of the browser bundle (`dist/webrtc-room.js`): importing it registers every element.
 * One line per element; each module defines its tag when loaded.
 */
export { WebRtcRoom } from "./webrtc-room.ts";
export type { ParticipantInfo, RoomErrorCode, RoomErrorDetail, RoomPhase, WebRtcRoomEventMap } from "./room-events.ts";
export { WebRtcPhone } from "./webrtc-phone.ts";
export type { PhoneErrorDetail, PhonePhase, PhoneUserInfo, WebRtcPhoneEventMap } from "./phone-events.ts";
