/**
 * Which protocol family each message `type` belongs to, as data: a client that serves several
 * families over one connection (a room and a phone) routes what the server sends with these
 * tables instead of listing types by hand in each consumer.
 *
 * The tables are `Record`s over the message unions, so that a message added to a family without a
 * line here fails to compile.
 */
import type { CallServerMessage } from "./call.ts";
import type { ClientMessageType, ServerMessage } from "./index.ts";
import type { PresenceServerMessage } from "./presence.ts";
import type { RoomServerMessage } from "./room.ts";
import type { WatchServerMessage } from "./watch.ts";

/**
 * The families of the protocol: `room` (mesh rooms), `call` (one-to-one calls and watches), `presence` (login
 * and the directory of online users), and `common` (keep-alive and errors, which belong to no
 * family).
 */
export type MessageFamily = "room" | "call" | "presence" | "common";

/** The family of every message `type` the server sends. */
export const SERVER_MESSAGE_FAMILY: Readonly<Record<ServerMessage["type"], MessageFamily>> = {
  pong: "common",
  error: "common",
  joined: "room",
  resumed: "room",
  ice_servers: "room",
  connection_list: "room",
  send_offer: "room",
  send_aswer: "room",
  new_candidate: "room",
  close_connection: "room",
  rest_connection_list: "room",
  room_state: "room",
  removed: "room",
  mute_request: "room",
  lobby_waiting: "room",
  lobby: "room",
  loginResponse: "presence",
  presence: "presence",
  presenceUpdate: "presence",
  presenceLeft: "presence",
  presenceChanges: "presence",
  loggedOut: "presence",
  callResponse: "call",
  incomingCall: "call",
  incomingCallStopped: "call",
  incomingCallNotResponse: "call",
  startCommunication: "call",
  iceCandidate: "call",
  stopCommunication: "call",
  callDescription: "call",
  watchRequested: "call",
  watchRequest: "call",
  watchStarted: "call",
  watchRefused: "call",
  watchEnded: "call",
  watchers: "call",
  watchAllowed: "call",
  watchDescription: "call",
  watchCandidate: "call",
};

/**
 * The family of every message `type` a client sends: an `error` that names it in `refType`
 * concerns that family. `resume` and `refresh_ice_servers` are listed under `room`, where the
 * protocol defines them, although they serve the whole connection.
 */
export const CLIENT_MESSAGE_FAMILY: Readonly<Record<ClientMessageType, MessageFamily>> = {
  ping: "common",
  new_user: "room",
  send_offer: "room",
  send_aswer: "room",
  new_candidate: "room",
  close_connection: "room",
  resume: "room",
  refresh_ice_servers: "room",
  room_settings: "room",
  remove_participant: "room",
  mute_participant: "room",
  lobby_admit: "room",
  lobby_deny: "room",
  login: "presence",
  call: "call",
  incomingCallResponse: "call",
  stopCall: "call",
  stop: "call",
  onIceCandidate: "call",
  callDescription: "call",
  watch: "call",
  watchAnswer: "call",
  allowWatching: "call",
  stopWatching: "call",
  watchDescription: "call",
  watchCandidate: "call",
  setStatus: "presence",
};

/** True when `type` is a message type clients may send. */
export function isClientMessageType(type: string): type is ClientMessageType {
  return Object.hasOwn(CLIENT_MESSAGE_FAMILY, type);
}

/** True when the server message belongs to the room family. */
export function isRoomServerMessage(message: ServerMessage): message is RoomServerMessage {
  return SERVER_MESSAGE_FAMILY[message.type] === "room";
}

/** True when the server message belongs to the call family (calls and watches). */
export function isCallServerMessage(message: ServerMessage): message is CallServerMessage | WatchServerMessage {
  return SERVER_MESSAGE_FAMILY[message.type] === "call";
}

/** True when the server message belongs to the presence family. */
export function isPresenceServerMessage(message: ServerMessage): message is PresenceServerMessage {
  return SERVER_MESSAGE_FAMILY[message.type] === "presence";
}

/** Every `type` of {@link WatchServerMessage}: the watch part of the call family. */
const WATCH_SERVER_TYPES: ReadonlySet<string> = new Set<WatchServerMessage["type"]>([
  "watchRequested",
  "watchRequest",
  "watchStarted",
  "watchRefused",
  "watchEnded",
  "watchers",
  "watchAllowed",
  "watchDescription",
  "watchCandidate",
]);

/** True when the server message is about a watch. */
export function isWatchServerMessage(message: ServerMessage): message is WatchServerMessage {
  return WATCH_SERVER_TYPES.has(message.type);
}
