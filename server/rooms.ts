/**
 * Room registry: the pure state of every room's `connectionList` (the room family of the protocol), with no sockets.
 *
 * Every operation returns its {@link Effects} (here only deliveries: what must be sent to whom);
 * the effects applier (server/effects.ts) carries them out. The in-memory default of
 * {@link RoomMembership} (server/stores.ts). Because uWebSockets.js runs all handlers on one thread, each call here is atomic:
 * two joins racing for the last seat are simply two calls in some order, and exactly one wins.
 */
import type { ErrorCode, IceCandidate, Participant, RoomServerMessage, SessionDescription } from "../shared/protocol/index.ts";
import type { Delivery, Effects } from "./effects.ts";
import type { RoomMembership } from "./stores.ts";

/** Result of an operation: what to send, or an error code for the sender alone. */
export type RoomResult = ({ ok: true } & Effects<RoomServerMessage>) | { ok: false; code: ErrorCode; message: string };

/** A negotiation message addressed to one participant of the sender's room. */
export type TargetedMessage =
  | { type: "send_offer"; targetId: string; sdp: SessionDescription }
  | { type: "send_aswer"; targetId: string; sdp: SessionDescription }
  | { type: "new_candidate"; targetId: string; ice: IceCandidate };

/** One room: its name and its members (participant id → display name) in join order. */
interface Room {
  readonly name: string;
  readonly members: Map<string, string>;
}

/** Where a negotiation message goes, and the sender's name to stamp on it. */
export type RouteResult = { ok: true; to: string; username: string } | { ok: false; code: ErrorCode; message: string };

/** Options of a {@link RoomRegistry}. */
export interface RoomRegistryOptions {
  /** Most participants one room may hold. */
  roomCapacity: number;
}

/** Counts for health and metrics. */
export interface RoomStats {
  rooms: number;
  participants: number;
}

/**
 * Every room and who is in it. A room exists while it has at least one participant; it is created
 * by the first join and disappears with the last leave.
 */
export class RoomRegistry implements RoomMembership {
  /** room name → room. */
  readonly #rooms = new Map<string, Room>();
  /**
   * participant id → the room it joined. Members of one room share its {@link Room}, so a
   * membership costs one map entry and no object of its own.
   */
  readonly #memberships = new Map<string, Room>();
  readonly #roomCapacity: number;

  constructor(options: RoomRegistryOptions) {
    this.#roomCapacity = options.roomCapacity;
  }

  /**
   * Adds connection `id` to `room`. Everyone in the room, the newcomer included, receives
   * `connection_list` with `newUserId = id`; the newcomer is expected to offer to every other member.
   */
  join(id: string, room: string, username: string): RoomResult {
    const current = this.#memberships.get(id);
    if (current) {
      return { ok: false, code: "already_in_room", message: `already joined room "${current.name}"` };
    }
    let joined = this.#rooms.get(room);
    if (joined && joined.members.size >= this.#roomCapacity) {
      return { ok: false, code: "room_full", message: `room "${room}" is full (${this.#roomCapacity} participants)` };
    }
    if (!joined) {
      joined = { name: room, members: new Map() };
      this.#rooms.set(room, joined);
    }
    joined.members.set(id, username);
    this.#memberships.set(id, joined);
    // One message object for every recipient, so the applier can serialize it once.
    const message: RoomServerMessage = { type: "connection_list", newUserId: id, list: toParticipants(joined.members) };
    return { ok: true, deliveries: [...joined.members.keys()].map((to) => ({ to, message })) };
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
   * this on its hot path, where it builds the relayed frame itself.
   */
  route(senderId: string, type: TargetedMessage["type"], targetId: string): RouteResult {
    const room = this.#memberships.get(senderId);
    if (!room) {
      return { ok: false, code: "not_in_room", message: `${type} needs a joined room` };
    }
    if (targetId === senderId) {
      return { ok: false, code: "self_target", message: "targetId is the sender itself" };
    }
    if (!room.members.has(targetId)) {
      return { ok: false, code: "unknown_target", message: `no participant "${targetId}" in this room` };
    }
    // The sender is a member of its own room, so its name is there.
    return { ok: true, to: targetId, username: room.members.get(senderId) ?? "" };
  }

  /**
   * Removes `id` from its room, if any. Those who remain receive `close_connection` naming the
   * leaver, then `rest_connection_list`. An emptied room is deleted.
   */
  leave(id: string): RoomResult {
    const room = this.#memberships.get(id);
    if (!room) {
      return { ok: false, code: "not_in_room", message: "not in a room" };
    }
    this.#memberships.delete(id);
    room.members.delete(id);
    if (room.members.size === 0) {
      this.#rooms.delete(room.name);
      return { ok: true, deliveries: [] };
    }
    // Two message objects shared by every recipient, so the applier can serialize each once.
    const closed: RoomServerMessage = { type: "close_connection", id };
    const rest: RoomServerMessage = { type: "rest_connection_list", list: toParticipants(room.members) };
    const deliveries: Delivery<RoomServerMessage>[] = [];
    for (const to of room.members.keys()) {
      deliveries.push({ to, message: closed });
      deliveries.push({ to, message: rest });
    }
    return { ok: true, deliveries };
  }

  /** The room `id` has joined, if any. */
  roomOf(id: string): string | undefined {
    return this.#memberships.get(id)?.name;
  }

  /** The participants of `room` in join order; empty when the room does not exist. */
  participants(room: string): Participant[] {
    const found = this.#rooms.get(room);
    return found ? toParticipants(found.members) : [];
  }

  /** Current number of rooms and participants. */
  stats(): RoomStats {
    return { rooms: this.#rooms.size, participants: this.#memberships.size };
  }
}

function toParticipants(members: Map<string, string>): Participant[] {
  return [...members].map(([id, username]) => ({ id, username }));
}
