/**
 * Room registry: the pure state of every room (the room family of the protocol), with no sockets:
 * its members in join order, what each may do (grants), its access settings (lock, password,
 * lobby), who waits in its lobby, and who hosts it.
 *
 * Every operation returns its {@link Effects} (here only deliveries: what must be sent to whom);
 * the effects applier (server/effects.ts) carries them out. The in-memory default of
 * {@link RoomMembership} (server/stores.ts). Because uWebSockets.js runs all handlers on one thread, each call here is atomic:
 * two joins racing for the last seat are simply two calls in some order, and exactly one wins.
 *
 * Hidden members (grant `hidden`) are members like the others (a seat, relays both ways) but are
 * left out of every list the others receive; a hidden member receives the full list. Since nobody
 * knows to offer to it, each join is announced to a hidden member as `connection_list` with
 * `newUserId` set to its own id: by the usual rule (the newcomer offers to everyone it does not
 * hold yet) it then offers to the newcomer.
 */
import type { CommonServerMessage, ErrorCode, IceCandidate, MuteKind, Participant, RoomGrants, RoomServerMessage, RoomState, SessionDescription } from "../shared/protocol/index.ts";
import type { Delivery, Effects } from "./effects.ts";
import { passwordKeysMatch, type RoomPasswordHash } from "./room-passwords.ts";
import type { RoomMembership } from "./stores.ts";

/** Most participants one room's lobby may hold at once. */
export const LOBBY_MAX_WAITING = 16;

/** What the registry sends: room messages, and the `error` that ends a wait in the lobby. */
export type RoomDeliveryMessage = RoomServerMessage | Extract<CommonServerMessage, { type: "error" }>;

/** A refusal for the sender alone. */
export interface RoomRefusal {
  ok: false;
  code: ErrorCode;
  message: string;
}

/** Result of an operation: what to send, or an error code for the sender alone. */
export type RoomResult = ({ ok: true } & Effects<RoomDeliveryMessage>) | RoomRefusal;

/** A negotiation message addressed to one participant of the sender's room. */
export type TargetedMessage =
  | { type: "send_offer"; targetId: string; sdp: SessionDescription }
  | { type: "send_aswer"; targetId: string; sdp: SessionDescription }
  | { type: "new_candidate"; targetId: string; ice: IceCandidate };

/** What a joiner may do: the grants `joined` states, plus skipping the lobby. */
export interface JoinGrants extends RoomGrants {
  bypassLobby: boolean;
}

/** A `new_user` as the registry needs it. */
export interface JoinRequest {
  room: string;
  username: string;
  grants: JoinGrants;
  /** The `password` given, derived with the room's salt ({@link RoomMembership.joinGate}). */
  passwordKey?: string;
}

/** What `joined` (or `resumed`) tells an admitted member about its room. */
export interface MemberView {
  room: string;
  username: string;
  /** The members as this member may see them (itself included). */
  list: Participant[];
  grants: RoomGrants;
  roomState: RoomState;
}

/** An admitted member: its id and what `joined` tells it (its list follows in `connection_list`). */
export interface Admission extends Omit<MemberView, "list"> {
  id: string;
}

/** A participant that became a member, with what announces it. */
export type Admitted = { ok: true; outcome: "admitted"; admission: Admission } & Effects<RoomDeliveryMessage>;

/**
 * Result of a join or an admission from the lobby: `admitted` when the participant is now a
 * member (the caller answers it `joined` before the effects), `waiting` when it entered the lobby
 * (the effects tell it and the hosts), `turnedAway` when an admission found the room full (the
 * effects tell the waiter).
 */
export type AdmissionResult =
  | Admitted
  | ({ ok: true; outcome: "waiting" | "turned_away" } & Effects<RoomDeliveryMessage>)
  | RoomRefusal;

/** What a joiner must clear before {@link RoomMembership.join}: nothing, or a password under this salt. */
export type JoinGate = { ok: true; passwordSalt?: string } | RoomRefusal;

/** A host's change of its room's settings; `password` is already hashed, `null` clears it. */
export interface RoomSettingsChange {
  locked?: boolean;
  password?: RoomPasswordHash | null;
  lobby?: boolean;
}

/** Where a negotiation message goes, and the sender's name to stamp on it. */
export type RouteResult = { ok: true; to: string; username: string } | RoomRefusal;

/** Options of a {@link RoomRegistry}. */
export interface RoomRegistryOptions {
  /** Most participants one room may hold. */
  roomCapacity: number;
  /**
   * Open mode: the first participant of a new room hosts it, the earliest remaining visible
   * member takes over when the last host leaves, and a room ends with its last member (those
   * waiting in its lobby are turned away). Token mode (false): hosts come only from their grant,
   * and a room with people waiting outlives its members, keeping its settings for the next host.
   */
  openMode: boolean;
}

/** Counts for health and metrics. */
export interface RoomStats {
  rooms: number;
  participants: number;
}

/** A member or a waiter: its display name and what it may do (applied on admission for a waiter). */
interface Entrant {
  readonly username: string;
  grants: RoomGrants;
}

/** One room: its members and waiters in arrival order, and its settings. */
interface Room {
  readonly name: string;
  readonly members: Map<string, Entrant>;
  readonly waiting: Map<string, Entrant>;
  locked: boolean;
  lobby: boolean;
  password: RoomPasswordHash | undefined;
}

/**
 * Every room, who is in it and who waits to be let in. A room exists while it has a member (in
 * token mode also while someone waits in its lobby); it is created by the first join.
 */
export class RoomRegistry implements RoomMembership {
  /** room name → room. */
  readonly #rooms = new Map<string, Room>();
  /**
   * participant id → the room it joined. Members of one room share its {@link Room}, so a
   * membership costs one map entry and no object of its own.
   */
  readonly #memberships = new Map<string, Room>();
  /** participant id → the room in whose lobby it waits. */
  readonly #waitingIn = new Map<string, Room>();
  readonly #roomCapacity: number;
  readonly #openMode: boolean;

  constructor(options: RoomRegistryOptions) {
    this.#roomCapacity = options.roomCapacity;
    this.#openMode = options.openMode;
  }

  /**
   * What a joiner with `grants` must clear to enter `room`: refused `room_locked` when a host
   * locked it; a password when one is set (derive the given one with `passwordSalt`). Hosts clear
   * everything. {@link join} checks again, since the room may change while a password is derived.
   */
  joinGate(room: string, grants: JoinGrants): JoinGate {
    const found = this.#rooms.get(room);
    if (!found || grants.host) {
      return { ok: true };
    }
    if (found.locked) {
      return refusal("room_locked", `room "${room}" is locked`);
    }
    return found.password ? { ok: true, passwordSalt: found.password.salt } : { ok: true };
  }

  /**
   * Session `id` asks to enter a room, as ONE atomic check-and-add. Those who are not hosts are
   * refused when the room is locked or the password is missing or wrong, and wait in the lobby
   * when it has one (unless `bypassLobby`); everyone is refused when the room is full. An
   * admitted member is announced with `connection_list` (see {@link RoomRegistry} for hidden
   * members); a waiter is told `lobby_waiting` and the hosts the new waiting list.
   */
  join(id: string, request: JoinRequest): AdmissionResult {
    const current = this.#memberships.get(id) ?? this.#waitingIn.get(id);
    if (current) {
      return refusal("already_in_room", `already joined room "${current.name}"`);
    }
    const { room: name, username } = request;
    const grants: RoomGrants = { publish: request.grants.publish, data: request.grants.data, host: request.grants.host, hidden: request.grants.hidden };
    const found = this.#rooms.get(name);
    if (found && !grants.host) {
      if (found.locked) {
        return refusal("room_locked", `room "${name}" is locked`);
      }
      if (found.password) {
        if (request.passwordKey === undefined) {
          return refusal("password_required", `room "${name}" needs a password`);
        }
        if (!passwordKeysMatch(found.password.key, request.passwordKey)) {
          return refusal("wrong_password", "wrong password");
        }
      }
      if (found.lobby && !request.grants.bypassLobby) {
        return this.#enterLobby(found, id, { username, grants });
      }
    }
    if (found && found.members.size >= this.#roomCapacity) {
      return refusal("room_full", `room "${name}" is full (${this.#roomCapacity} participants)`);
    }
    let room = found;
    if (!room) {
      room = { name, members: new Map(), waiting: new Map(), locked: false, lobby: false, password: undefined };
      this.#rooms.set(name, room);
      if (this.#openMode) {
        grants.host = true;
      }
    }
    return this.#admit(room, id, { username, grants });
  }

  /**
   * Host `hostId` lets `waiterId` in from its room's lobby. The room's capacity is checked now: a
   * full room turns the waiter away with `room_full`. Either way it leaves the lobby and the hosts
   * get the new waiting list.
   */
  admitFromLobby(hostId: string, waiterId: string): AdmissionResult {
    const checked = this.#waiterOfHost(hostId, waiterId);
    if (!checked.ok) {
      return checked;
    }
    const { room, waiter } = checked;
    this.#dropWaiter(room, waiterId);
    const lobby = this.#lobbyDeliveries(room);
    if (room.members.size >= this.#roomCapacity) {
      const turnedAway = lobbyError(waiterId, "room_full", `room "${room.name}" is full (${this.#roomCapacity} participants)`);
      return { ok: true, outcome: "turned_away", deliveries: [turnedAway, ...lobby] };
    }
    const admitted = this.#admit(room, waiterId, waiter);
    return { ...admitted, deliveries: [...lobby, ...admitted.deliveries] };
  }

  /** Host `hostId` turns `waiterId` away from its room's lobby: `lobby_denied` to it, the new waiting list to the hosts. */
  denyFromLobby(hostId: string, waiterId: string): RoomResult {
    const checked = this.#waiterOfHost(hostId, waiterId);
    if (!checked.ok) {
      return checked;
    }
    return this.#deny(checked.room, waiterId, "a host turned you away");
  }

  /**
   * Host `hostId` removes `targetId` from its room: a member is told `removed` and leaves as with
   * `close_connection`; a waiter is turned away as with {@link denyFromLobby}.
   */
  remove(hostId: string, targetId: string): RoomResult {
    const hosted = this.#hostedRoom(hostId, "remove_participant");
    if (!hosted.ok) {
      return hosted;
    }
    const { room } = hosted;
    if (targetId === hostId) {
      return refusal("self_target", "a host cannot remove itself; send close_connection to leave");
    }
    if (room.waiting.has(targetId)) {
      return this.#deny(room, targetId, "a host removed you from the lobby");
    }
    if (!room.members.has(targetId)) {
      return refusal("unknown_target", `no participant "${targetId}" in this room`);
    }
    const removed: Delivery<RoomDeliveryMessage> = { to: targetId, message: { type: "removed", by: hostId } };
    const left = this.leave(targetId);
    return left.ok ? { ok: true, deliveries: [removed, ...left.deliveries] } : left;
  }

  /** Host `hostId` asks member `targetId` to stop sending `kind`: `mute_request` to the target alone. */
  mute(hostId: string, targetId: string, kind: MuteKind): RoomResult {
    const hosted = this.#hostedRoom(hostId, "mute_participant");
    if (!hosted.ok) {
      return hosted;
    }
    if (targetId === hostId) {
      return refusal("self_target", "targetId is the sender itself");
    }
    if (!hosted.room.members.has(targetId)) {
      return refusal("unknown_target", `no participant "${targetId}" in this room`);
    }
    return { ok: true, deliveries: [{ to: targetId, message: { type: "mute_request", by: hostId, kind } }] };
  }

  /**
   * Host `hostId` changes its room's settings. Every member gets the resulting `room_state`, even
   * when nothing changed (it is the answer). Turning the lobby off lets nobody in by itself: those
   * already waiting stay until a host admits or denies them.
   */
  configure(hostId: string, change: RoomSettingsChange): RoomResult {
    const hosted = this.#hostedRoom(hostId, "room_settings");
    if (!hosted.ok) {
      return hosted;
    }
    const { room } = hosted;
    if (change.locked !== undefined) {
      room.locked = change.locked;
    }
    if (change.lobby !== undefined) {
      room.lobby = change.lobby;
    }
    if (change.password !== undefined) {
      room.password = change.password ?? undefined;
    }
    return { ok: true, deliveries: this.#roomStateDeliveries(room) };
  }

  /**
   * Relays a negotiation message from `senderId` to its `targetId`, stamping the sender's id and
   * name. The target must be another participant of the sender's room.
   */
  relay(senderId: string, message: TargetedMessage): RoomResult {
    const route = this.route(senderId, message.type, message.targetId);
    if (!route.ok) {
      return route;
    }
    const stamped = { ...message, id: senderId, username: route.username };
    return { ok: true, deliveries: [{ to: route.to, message: stamped }] };
  }

  /**
   * The checks of {@link relay} without building the stamped message: where a `type` message from
   * `senderId` to `targetId` goes and the sender's name, or why it may not. The relay handler uses
   * this on its hot path, where it builds the relayed frame itself. Waiters are in no room: they
   * neither send nor receive relays.
   */
  route(senderId: string, type: TargetedMessage["type"], targetId: string): RouteResult {
    const room = this.#memberships.get(senderId);
    if (!room) {
      return refusal("not_in_room", `${type} needs a joined room`);
    }
    if (targetId === senderId) {
      return refusal("self_target", "targetId is the sender itself");
    }
    const target = room.members.get(targetId);
    if (!target) {
      return refusal("unknown_target", `no participant "${targetId}" in this room`);
    }
    // The sender is a member of its own room, so its name is there.
    return { ok: true, to: targetId, username: room.members.get(senderId)?.username ?? "" };
  }

  /**
   * Removes `id` from its room or from the lobby it waits in. Members who remain receive
   * `close_connection` naming the leaver, then `rest_connection_list` (only the former for a
   * hidden leaver); in open mode the earliest visible member becomes host when the last host left;
   * a change of hosts is told with `room_state`. A waiter's leave is told to the hosts. An emptied
   * room is deleted (see {@link RoomRegistryOptions.openMode} for its lobby).
   */
  leave(id: string): RoomResult {
    const waitingRoom = this.#waitingIn.get(id);
    if (waitingRoom) {
      this.#dropWaiter(waitingRoom, id);
      const deliveries = this.#lobbyDeliveries(waitingRoom);
      this.#deleteIfDone(waitingRoom);
      return { ok: true, deliveries };
    }
    const room = this.#memberships.get(id);
    const leaver = room?.members.get(id);
    if (!room || !leaver) {
      return refusal("not_in_room", "not in a room");
    }
    const hostsBefore = hostsKey(room);
    this.#memberships.delete(id);
    room.members.delete(id);
    if (room.members.size === 0) {
      return { ok: true, deliveries: this.#deleteIfDone(room) };
    }
    const deliveries: Delivery<RoomDeliveryMessage>[] = [];
    // Message objects shared by their recipients, so the applier can serialize each once.
    const closed: RoomServerMessage = { type: "close_connection", id };
    const visibleRest: RoomServerMessage = { type: "rest_connection_list", list: visibleList(room) };
    const fullRest: RoomServerMessage = { type: "rest_connection_list", list: fullList(room) };
    for (const [to, member] of room.members) {
      deliveries.push({ to, message: closed });
      if (!leaver.grants.hidden) {
        deliveries.push({ to, message: member.grants.hidden ? fullRest : visibleRest });
      }
    }
    const newHost = leaver.grants.host ? this.#handOverHost(room) : undefined;
    if (hostsKey(room) !== hostsBefore) {
      deliveries.push(...this.#roomStateDeliveries(room));
    }
    if (newHost !== undefined && room.waiting.size > 0) {
      deliveries.push({ to: newHost, message: { type: "lobby", waiting: fullList(room, room.waiting) } });
    }
    return { ok: true, deliveries };
  }

  /** True while `id` waits in a lobby. */
  isWaiting(id: string): boolean {
    return this.#waitingIn.has(id);
  }

  /** The room `id` has joined, if any (not the one it waits to enter). */
  roomOf(id: string): string | undefined {
    return this.#memberships.get(id)?.name;
  }

  /** What member `id` knows of its room now (for `resumed`); undefined when it is in none. */
  viewOf(id: string): MemberView | undefined {
    const room = this.#memberships.get(id);
    const member = room?.members.get(id);
    if (!room || !member) {
      return undefined;
    }
    return { room: room.name, username: member.username, list: member.grants.hidden ? fullList(room) : visibleList(room), grants: { ...member.grants }, roomState: roomStateOf(room) };
  }

  /** Every member of `room` in join order, hidden ones included; empty when the room does not exist. */
  participants(room: string): Participant[] {
    const found = this.#rooms.get(room);
    return found ? fullList(found) : [];
  }

  /** Current number of rooms and participants (members; waiters are not counted). */
  stats(): RoomStats {
    return { rooms: this.#rooms.size, participants: this.#memberships.size };
  }

  /** Adds `entrant` to `room` as a member; see {@link join}. */
  #admit(room: Room, id: string, entrant: Entrant): Admitted {
    const hostsBefore = hostsKey(room);
    room.members.set(id, entrant);
    this.#memberships.set(id, room);
    const deliveries: Delivery<RoomDeliveryMessage>[] = [];
    const full = fullList(room);
    if (entrant.grants.hidden) {
      deliveries.push({ to: id, message: { type: "connection_list", newUserId: id, list: full } });
    } else {
      // One message object for every visible recipient, so the applier can serialize it once.
      const announced: RoomServerMessage = { type: "connection_list", newUserId: id, list: visibleList(room) };
      for (const [to, member] of room.members) {
        deliveries.push({ to, message: member.grants.hidden ? { type: "connection_list", newUserId: to, list: full } : announced });
      }
    }
    if (hostsKey(room) !== hostsBefore) {
      deliveries.push(...this.#roomStateDeliveries(room).filter((delivery) => delivery.to !== id));
    }
    if (entrant.grants.host && room.waiting.size > 0) {
      deliveries.push({ to: id, message: { type: "lobby", waiting: fullList(room, room.waiting) } });
    }
    const admission: Admission = { id, room: room.name, username: entrant.username, grants: { ...entrant.grants }, roomState: roomStateOf(room) };
    return { ok: true, outcome: "admitted", admission, deliveries };
  }

  #enterLobby(room: Room, id: string, entrant: Entrant): AdmissionResult {
    if (room.waiting.size >= LOBBY_MAX_WAITING) {
      return refusal("lobby_full", `the lobby of room "${room.name}" is full (${LOBBY_MAX_WAITING} waiting)`);
    }
    room.waiting.set(id, entrant);
    this.#waitingIn.set(id, room);
    return { ok: true, outcome: "waiting", deliveries: [{ to: id, message: { type: "lobby_waiting", room: room.name, id } }, ...this.#lobbyDeliveries(room)] };
  }

  #deny(room: Room, waiterId: string, why: string): RoomResult {
    this.#dropWaiter(room, waiterId);
    return { ok: true, deliveries: [lobbyError(waiterId, "lobby_denied", why), ...this.#lobbyDeliveries(room)] };
  }

  #dropWaiter(room: Room, id: string): void {
    room.waiting.delete(id);
    this.#waitingIn.delete(id);
  }

  /** The room `hostId` hosts, or why it may not send `type`. */
  #hostedRoom(hostId: string, type: string): { ok: true; room: Room } | RoomRefusal {
    const room = this.#memberships.get(hostId);
    if (!room) {
      return refusal("not_in_room", `${type} needs a joined room`);
    }
    if (!room.members.get(hostId)?.grants.host) {
      return refusal("not_host", `${type} is for hosts of the room`);
    }
    return { ok: true, room };
  }

  /** The waiter `waiterId` in the lobby of the room `hostId` hosts. */
  #waiterOfHost(hostId: string, waiterId: string): { ok: true; room: Room; waiter: Entrant } | RoomRefusal {
    const hosted = this.#hostedRoom(hostId, "lobby_admit / lobby_deny");
    if (!hosted.ok) {
      return hosted;
    }
    const waiter = hosted.room.waiting.get(waiterId);
    return waiter ? { ok: true, room: hosted.room, waiter } : refusal("unknown_target", `nobody "${waiterId}" waits in this room's lobby`);
  }

  /** Open mode: when no host remains, the earliest visible member becomes one. Its id, if any. */
  #handOverHost(room: Room): string | undefined {
    if (!this.#openMode || [...room.members.values()].some((member) => member.grants.host)) {
      return undefined;
    }
    for (const [id, member] of room.members) {
      if (!member.grants.hidden) {
        member.grants.host = true;
        return id;
      }
    }
    return undefined;
  }

  /** Deletes `room` when its stay is over; what the waiters it turns away are told. */
  #deleteIfDone(room: Room): Delivery<RoomDeliveryMessage>[] {
    if (room.members.size > 0 || (!this.#openMode && room.waiting.size > 0)) {
      return [];
    }
    const deliveries = [...room.waiting.keys()].map((id) => lobbyError(id, "lobby_denied", "everyone left the room"));
    for (const id of room.waiting.keys()) {
      this.#waitingIn.delete(id);
    }
    this.#rooms.delete(room.name);
    return deliveries;
  }

  /** `room_state` for every member. */
  #roomStateDeliveries(room: Room): Delivery<RoomDeliveryMessage>[] {
    const message: RoomServerMessage = { type: "room_state", ...roomStateOf(room) };
    return [...room.members.keys()].map((to) => ({ to, message }));
  }

  /** The waiting list for every host of `room`. */
  #lobbyDeliveries(room: Room): Delivery<RoomDeliveryMessage>[] {
    const message: RoomServerMessage = { type: "lobby", waiting: fullList(room, room.waiting) };
    return [...room.members].filter(([, member]) => member.grants.host).map(([to]) => ({ to, message }));
  }
}

function refusal(code: ErrorCode, message: string): RoomRefusal {
  return { ok: false, code, message };
}

/** The `error` that ends a wait in the lobby, as a refusal of the waiter's `new_user`. */
function lobbyError(to: string, code: ErrorCode, message: string): Delivery<RoomDeliveryMessage> {
  return { to, message: { type: "error", code, message, refType: "new_user" } };
}

/** Everyone in `entrants` (the members by default) as participant entries. */
function fullList(room: Room, entrants: Map<string, Entrant> = room.members): Participant[] {
  return [...entrants].map(([id, { username }]) => ({ id, username }));
}

/** The members that are not hidden. */
function visibleList(room: Room): Participant[] {
  return [...room.members].filter(([, member]) => !member.grants.hidden).map(([id, { username }]) => ({ id, username }));
}

function roomStateOf(room: Room): RoomState {
  return {
    locked: room.locked,
    passwordSet: room.password !== undefined,
    lobby: room.lobby,
    hosts: [...room.members].filter(([, member]) => member.grants.host && !member.grants.hidden).map(([id]) => id),
  };
}

/** The visible hosts as one comparable value. */
function hostsKey(room: Room): string {
  return roomStateOf(room).hosts.join(" ");
}
