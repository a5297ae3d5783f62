/**
 * Handlers of the host controls (room family): `room_settings`, `remove_participant`,
 * `mute_participant`, `lobby_admit`, `lobby_deny`. The registry checks that the sender hosts its
 * room (`not_host`) and decides; these handlers hash a new password first and carry the results
 * out. A removed participant's session is forgotten unless a login keeps it, so it cannot resume
 * its way back into the room.
 */
import { hashRoomPassword, type RoomPasswordHash } from "../room-passwords.ts";
import type { RoomSettingsChange } from "../rooms.ts";
import type { Connection } from "../transport.ts";
import type { HandlerServices, HandlerTable, MessageOf } from "./table.ts";
import { welcome } from "./welcome.ts";

/** The host controls' message types. */
export type HostMessageType = "room_settings" | "remove_participant" | "mute_participant" | "lobby_admit" | "lobby_deny";

/** The host controls' handlers. */
export function hostHandlers(services: HandlerServices): HandlerTable<HostMessageType> {
  const { transport, rooms, logins, suspended, applier } = services;

  /** Applies a settings change whose password (if any) is hashed already. */
  function configure(sender: Connection, message: MessageOf<"room_settings">, password: RoomPasswordHash | null | undefined): void {
    const change: RoomSettingsChange = {
      ...(message.locked !== undefined ? { locked: message.locked } : {}),
      ...(message.lobby !== undefined ? { lobby: message.lobby } : {}),
      ...(password !== undefined ? { password } : {}),
    };
    const result = rooms.configure(sender.id, change);
    if (!result.ok) {
      transport.refuse(sender, result.code, result.message, message.type);
      return;
    }
    applier.apply(result);
  }

  /** Hashes the new password off the event loop, then applies the change; a closed connection changes nothing. */
  async function configureWithPassword(sender: Connection, message: MessageOf<"room_settings">, password: string): Promise<void> {
    const hashed = await hashRoomPassword(password);
    if (transport.isOpen(sender)) {
      configure(sender, message, hashed);
    }
  }

  return {
    room_settings(sender, message) {
      if (message.locked === undefined && message.password === undefined && message.lobby === undefined) {
        transport.refuse(sender, "bad_message", "room_settings needs at least one of locked, password, lobby", message.type);
        return;
      }
      // Only a host's password is worth the hashing: anyone else is refused without it.
      if (typeof message.password === "string" && rooms.viewOf(sender.id)?.grants.host === true) {
        return configureWithPassword(sender, message, message.password);
      }
      configure(sender, message, message.password === null ? null : undefined);
    },
    remove_participant(sender, message) {
      const result = rooms.remove(sender.id, message.targetId);
      if (!result.ok) {
        transport.refuse(sender, result.code, result.message, message.type);
        return;
      }
      if (logins.loginOf(message.targetId) === undefined) {
        applier.apply(suspended.forget(message.targetId));
      }
      applier.apply(result);
    },
    mute_participant(sender, message) {
      const result = rooms.mute(sender.id, message.targetId, message.kind);
      if (!result.ok) {
        transport.refuse(sender, result.code, result.message, message.type);
        return;
      }
      applier.apply(result);
    },
    lobby_admit(sender, message) {
      const result = rooms.admitFromLobby(sender.id, message.id);
      if (!result.ok) {
        transport.refuse(sender, result.code, result.message, message.type);
        return;
      }
      if (result.outcome === "admitted") {
        welcome(services, result.admission);
      }
      applier.apply(result);
    },
    lobby_deny(sender, message) {
      const result = rooms.denyFromLobby(sender.id, message.id);
      if (!result.ok) {
        transport.refuse(sender, result.code, result.message, message.type);
        return;
      }
      applier.apply(result);
    },
  };
}
