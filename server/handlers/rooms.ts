/**
 * Handlers of the room family: joining (`new_user`), leaving (`close_connection`) and the relayed
 * negotiation (`send_offer`, `send_aswer`, `new_candidate`), whose fast path forwards the frame's
 * bytes with a stamp (`WebSocketTransport.relay`, server/transport.ts).
 */
import { PROTOCOL_VERSION } from "../../shared/protocol/index.ts";
import type { JoinGrants, TokenVerifier } from "../tokens.ts";
import type { Connection } from "../transport.ts";
import type { Handler, HandlerServices, HandlerTable, MessageOf } from "./table.ts";

/** The room family's message types. */
export type RoomMessageType = "new_user" | "close_connection" | "send_offer" | "send_aswer" | "new_candidate";

/** What a participant may do in open mode, where no token says otherwise. */
const OPEN_MODE_GRANTS: Omit<JoinGrants, "bypassLobby"> = { publish: true, data: true, host: false, hidden: false };

/** The room family's handlers. */
export function roomHandlers(services: HandlerServices): HandlerTable<RoomMessageType> {
  const { config, transport, rooms, logins, suspended, sessions, applier } = services;

  /**
   * Relays a validated negotiation message to its target, stamped with the sender. A suspended
   * target gets it on resume; that rare slow path serializes the stamped message.
   */
  const relay: Handler<MessageOf<"send_offer" | "send_aswer" | "new_candidate">> = (sender, message, text, bytes, nowMs) => {
    const route = rooms.route(sender.id, message.type, message.targetId);
    if (!route.ok) {
      transport.refuse(sender, route.code, route.message, message.type, nowMs);
      return;
    }
    if (!transport.relay(sender, route.to, route.username, message, text, bytes) && suspended.isSuspended(route.to)) {
      applier.hold(route.to, JSON.stringify({ ...message, id: sender.id, username: route.username }));
      applier.settleOverflows();
    }
  };

  /**
   * Joins `sender` to `room` as `username` (the message's in open mode, the token's in token mode)
   * with `grants` (the token's in token mode).
   */
  function join(sender: Connection, room: string, username: string, grants: Omit<JoinGrants, "bypassLobby"> = OPEN_MODE_GRANTS): void {
    const result = rooms.join(sender.id, room, username);
    if (!result.ok) {
      transport.refuse(sender, result.code, result.message, "new_user");
      return;
    }
    transport.reply(sender, {
      type: "joined",
      id: sender.id,
      room,
      username,
      protocolVersion: PROTOCOL_VERSION,
      ...services.iceServersFor(sender.id),
      maxMessageBytes: config.maxMessageBytes,
      roomCapacity: config.roomCapacity,
      resumeToken: sessions.token(sender.id),
      resumeGraceMs: config.resumeGraceMs,
      grants: { publish: grants.publish, data: grants.data, host: grants.host, hidden: grants.hidden },
    });
    applier.apply(result);
  }

  /**
   * Token mode: joins once the join token for `message.room` is verified; a refused token changes
   * nothing. A connection that closed while the token was verified is left alone.
   */
  async function joinWithToken(sender: Connection, message: MessageOf<"new_user">, token: string, verifier: TokenVerifier): Promise<void> {
    const verdict = await verifier.verifyJoin(token, message.room);
    if (!transport.isOpen(sender)) {
      return;
    }
    if (!verdict.ok) {
      transport.refuse(sender, verdict.code, verdict.message, message.type);
      return;
    }
    join(sender, message.room, verdict.claims.name, verdict.claims.grants);
  }

  return {
    new_user(sender, message) {
      if (message.protocolVersion !== undefined && message.protocolVersion !== PROTOCOL_VERSION) {
        transport.refuse(sender, "unsupported_version", `this server speaks protocol version ${PROTOCOL_VERSION}`, message.type);
        return;
      }
      if (services.tokens !== undefined) {
        if (message.token === undefined) {
          transport.refuse(sender, "token_missing", "this server needs a join token in new_user.token", message.type);
          return;
        }
        return joinWithToken(sender, message, message.token, services.tokens);
      }
      join(sender, message.room, message.username);
    },
    close_connection(sender, message) {
      const result = rooms.leave(sender.id);
      if (!result.ok) {
        transport.refuse(sender, result.code, result.message, message.type);
        return;
      }
      if (logins.loginOf(sender.id) === undefined) {
        // Nothing left to resume; a login keeps the session and its token.
        applier.apply(suspended.forget(sender.id));
      }
      applier.apply(result);
    },
    send_offer: relay,
    send_aswer: relay,
    new_candidate: relay,
  };
}
