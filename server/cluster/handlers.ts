/**
 * The handler table of a cluster node: the room family's join, leave and relays, `resume` and
 * `refresh_ice_servers` go to {@link ClusterRooms}; `ping` is answered as on a single node; every
 * feature that needs state shared across nodes and does not have it yet is refused with
 * `cluster_unsupported` (docs/scaling.md), never served from one node's memory, where it would be
 * silently wrong.
 */
import { PROTOCOL_VERSION, type ClientMessage, type ClientMessageType } from "../../shared/protocol/index.ts";
import { handlerTable, type Handler, type HandlerServices, type HandlerTable } from "../handlers/index.ts";
import type { Connection } from "../transport.ts";
import type { ClusterRooms } from "./cluster-rooms.ts";

/** Message types a cluster refuses with `cluster_unsupported` (the next slices serve them). */
export const CLUSTER_UNSUPPORTED_TYPES = [
  "login",
  "call",
  "incomingCallResponse",
  "stopCall",
  "stop",
  "onIceCandidate",
  "callDescription",
  "watch",
  "watchAnswer",
  "allowWatching",
  "stopWatching",
  "watchDescription",
  "watchCandidate",
  "setStatus",
  "room_settings",
  "remove_participant",
  "mute_participant",
  "lobby_admit",
  "lobby_deny",
] as const satisfies readonly ClientMessageType[];

/** The handlers of a cluster node, on `services` (as a single node's) and `cluster`. */
export function clusterHandlerTable(services: HandlerServices, cluster: ClusterRooms): HandlerTable {
  const { transport } = services;

  const unsupported: Handler<ClientMessage> = (sender, message) => {
    transport.refuse(sender, "cluster_unsupported", `${message.type} does not work across the nodes of a cluster yet (docs/scaling.md)`, message.type);
  };

  /** `new_user` once its name is settled (token mode: verified); hidden participants are not served. */
  async function joinWithToken(sender: Connection, message: Extract<ClientMessage, { type: "new_user" }>, token: string): Promise<void> {
    const verifier = services.tokens;
    if (verifier === undefined) {
      return;
    }
    const verdict = await verifier.verifyJoin(token, message.room);
    if (!transport.isOpen(sender)) {
      return;
    }
    if (!verdict.ok) {
      transport.refuse(sender, verdict.code, verdict.message, message.type);
      return;
    }
    if (verdict.claims.grants.hidden) {
      transport.refuse(sender, "cluster_unsupported", "hidden participants do not work across the nodes of a cluster yet (docs/scaling.md)", message.type);
      return;
    }
    await cluster.join(sender, message.room, verdict.claims.name);
  }

  const relay: Handler<Extract<ClientMessage, { type: "send_offer" | "send_aswer" | "new_candidate" }>> = (sender, message, text, bytes) => {
    cluster.relay(sender, message, text, bytes);
  };

  /** A single node's handlers, for what a cluster serves the same way. */
  const single = handlerTable(services);
  const refused = Object.fromEntries(CLUSTER_UNSUPPORTED_TYPES.map((type) => [type, unsupported])) as HandlerTable<(typeof CLUSTER_UNSUPPORTED_TYPES)[number]>;
  return {
    ...refused,
    ping: single.ping,
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
        return joinWithToken(sender, message, message.token);
      }
      return cluster.join(sender, message.room, message.username);
    },
    close_connection(sender) {
      return cluster.leave(sender);
    },
    send_offer: relay,
    send_aswer: relay,
    new_candidate: relay,
    resume(sender, message, _text, _bytes, nowMs) {
      return cluster.resume(sender, message.id, message.resumeToken, nowMs);
    },
    refresh_ice_servers(sender, message) {
      if (cluster.roomOf(sender.id) === undefined) {
        transport.refuse(sender, "not_in_room", "refresh_ice_servers needs a joined room", message.type);
        return;
      }
      transport.reply(sender, { type: "ice_servers", ...services.iceServersFor(sender.id) });
    },
  };
}
