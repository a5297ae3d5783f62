/**
 * Room registry: the pure state of every room's `connectionList` (seed 004), with no sockets.
 *
 * Every operation returns what must be sent to whom as {@link Delivery} values; the socket layer
 * only sends them. Because uWebSockets.js runs all handlers on one thread, each call here is atomic:
 * two joins racing for the last seat are simply two calls in some order, and exactly one wins.
 */
import type { ErrorCode, IceCandidate, Participant, RoomServerMessage, SessionDescription } from "../shared/protocol/index.ts";

/** One message for one connection, identified by its server-assigned id. */
export interface Delivery {
  to: string;
  message: RoomServerMessage;
}

/** Result of an operation: what to send, or an error code for the sender alone. */
export type RoomResult = { ok: true; deliveries: Delivery[] } | { ok: false; code: ErrorCode; message: string };

/** A negotiation message addressed to one participant of the sender's room. */
export type TargetedMessage =
  | { type: "send_offer"; targetId: string; sdp: SessionDescription }
  | { type: "send_aswer"; targetId: string; sdp: SessionDescription }
  | { type: "new_candidate"; targetId: string; ice: IceCandidate };

interface Membership {
  room: string;
  username: string;
}

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
export class RoomRegistry {
  /** room name → participant id → display name, in join order. */
  readonly #rooms = new Map<string, Map<string, string>>();
  /** participant id → the room it joined. */
  readonly #memberships = new Map<string, Membership>();
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
      return { ok: false, code: "already_in_room", message: `already joined room "${current.room}"` };
    }
    const members = this.#rooms.get(room) ?? new Map<string, string>();
    if (members.size >= this.#roomCapacity) {
      return { ok: false, code: "room_full", message: `room "${room}" is full (${this.#roomCapacity} participants)` };
    }
    members.set(id, username);
    this.#rooms.set(room, members);
    this.#memberships.set(id, { room, username });
    const list = toParticipants(members);
    return {
      ok: true,
      deliveries: [...members.keys()].map((to) => ({ to, message: { type: "connection_list", newUserId: id, list } })),
    };
  }

  /**
   * Relays a negotiation message from `senderId` to its `targetId`, stamping the sender's id and
   * name. The target must be another participant of the sender's room.
   */
  relay(senderId: string, message: TargetedMessage): RoomResult {
    const sender = this.#memberships.get(senderId);
    if (!sender) {
      return { ok: false, code: "not_in_room", message: `${message.type} needs a joined room` };
    }
    if (message.targetId === senderId) {
      return { ok: false, code: "self_target", message: "targetId is the sender itself" };
    }
    if (this.#memberships.get(message.targetId)?.room !== sender.room) {
      return { ok: false, code: "unknown_target", message: `no participant "${message.targetId}" in this room` };
    }
    const stamped = { ...message, id: senderId, username: sender.username };
    return { ok: true, deliveries: [{ to: message.targetId, message: stamped }] };
  }

  /**
   * Removes `id` from its room, if any. Those who remain receive `close_connection` naming the
   * leaver, then `rest_connection_list`. An emptied room is deleted.
   */
  leave(id: string): RoomResult {
    const membership = this.#memberships.get(id);
    if (!membership) {
      return { ok: false, code: "not_in_room", message: "not in a room" };
    }
    this.#memberships.delete(id);
    const members = this.#rooms.get(membership.room);
    if (!members) {
      return { ok: true, deliveries: [] };
    }
    members.delete(id);
    if (members.size === 0) {
      this.#rooms.delete(membership.room);
      return { ok: true, deliveries: [] };
    }
    const list = toParticipants(members);
    const deliveries: Delivery[] = [];
    for (const to of members.keys()) {
      deliveries.push({ to, message: { type: "close_connection", id } });
      deliveries.push({ to, message: { type: "rest_connection_list", list } });
    }
    return { ok: true, deliveries };
  }

  /** The room `id` has joined, if any. */
  roomOf(id: string): string | undefined {
    return this.#memberships.get(id)?.room;
  }

  /** The participants of `room` in join order; empty when the room does not exist. */
  participants(room: string): Participant[] {
    const members = this.#rooms.get(room);
    return members ? toParticipants(members) : [];
  }

  /** Current number of rooms and participants. */
  stats(): RoomStats {
    return { rooms: this.#rooms.size, participants: this.#memberships.size };
  }
}

function toParticipants(members: Map<string, string>): Participant[] {
  return [...members].map(([id, username]) => ({ id, username }));
}
