/**
 * The `joined` acknowledgement, shared by a direct join (`new_user`) and an admission from the
 * lobby (`lobby_admit`): only then does a participant get its ICE servers (TURN credentials) and
 * its resume token.
 */
import { PROTOCOL_VERSION, type ServerMessage } from "../../shared/protocol/index.ts";
import type { Admission } from "../rooms.ts";
import type { HandlerServices } from "./table.ts";

/** Sends `joined` to the participant the registry just admitted, before the effects that announce it. */
export function welcome(services: HandlerServices, admission: Admission): void {
  services.transport.sendFrame(admission.id, JSON.stringify(joinedMessage(services, admission, services.sessions.token(admission.id))));
}

/** The `joined` of `admission` with its session's `resumeToken` (a cluster node keeps its tokens in Redis). */
export function joinedMessage(services: Pick<HandlerServices, "config" | "iceServersFor">, admission: Admission, resumeToken: string): Extract<ServerMessage, { type: "joined" }> {
  const { config } = services;
  return {
    type: "joined",
    id: admission.id,
    room: admission.room,
    username: admission.username,
    protocolVersion: PROTOCOL_VERSION,
    ...services.iceServersFor(admission.id),
    maxMessageBytes: config.maxMessageBytes,
    roomCapacity: config.roomCapacity,
    uplinkBudgetKbps: config.uplinkBudgetKbps,
    resumeToken,
    resumeGraceMs: config.resumeGraceMs,
    grants: admission.grants,
    roomState: admission.roomState,
  };
}
