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
  const { config, transport, sessions } = services;
  const joined: Extract<ServerMessage, { type: "joined" }> = {
    type: "joined",
    id: admission.id,
    room: admission.room,
    username: admission.username,
    protocolVersion: PROTOCOL_VERSION,
    ...services.iceServersFor(admission.id),
    maxMessageBytes: config.maxMessageBytes,
    roomCapacity: config.roomCapacity,
    uplinkBudgetKbps: config.uplinkBudgetKbps,
    resumeToken: sessions.token(admission.id),
    resumeGraceMs: config.resumeGraceMs,
    grants: admission.grants,
    roomState: admission.roomState,
  };
  transport.sendFrame(admission.id, JSON.stringify(joined));
}
