/**
 * Entry of the browser bundle (`dist/webrtc-room.js`): importing it registers every element.
 * One line per element; each module defines its tag when loaded. Each element lives in its own
 * folder (`room/`, `phone/`); what both use is in `shared/`.
 */
export { WebRtcRoom } from "./room/webrtc-room.ts";
export type { ParticipantInfo, RoomErrorCode, RoomErrorDetail, RoomErrorEvent, RoomPhase, WebRtcRoomEventMap } from "./room/room-events.ts";
export { WebRtcPhone } from "./phone/webrtc-phone.ts";
export type { PhoneErrorDetail, PhoneErrorEvent, PhonePhase, PhoneUserInfo, WebRtcPhoneEventMap } from "./phone/phone-events.ts";
