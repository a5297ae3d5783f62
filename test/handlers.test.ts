/**
 * The handler table covers the protocol: a table missing a client message type does not compile
 * (checked by `tsc`, which runs over test/), and the built table has a handler for every type.
 */
import { describe, expect, it } from "vitest";
import type { ClientMessageType } from "../shared/protocol/index.ts";
import { handlerTable, type HandlerServices, type HandlerTable } from "../server/handlers/index.ts";

/** Every client message type; `satisfies` below fails to compile when one is missing or unknown. */
const ALL_TYPES = {
  ping: true, resume: true, refresh_ice_servers: true,
  new_user: true, close_connection: true, send_offer: true, send_aswer: true, new_candidate: true,
  room_settings: true, remove_participant: true, mute_participant: true, lobby_admit: true, lobby_deny: true,
  login: true,
  call: true, incomingCallResponse: true, stopCall: true, stop: true, onIceCandidate: true, callDescription: true,
  watch: true, watchAnswer: true, allowWatching: true, stopWatching: true, watchDescription: true, watchCandidate: true,
  setStatus: true,
} satisfies Record<ClientMessageType, true>;

describe("handler table", () => {
  it("has one handler for every client message type", () => {
    // The factories only capture the services; nothing is called while the table is built.
    const table = handlerTable({} as HandlerServices);
    expect(Object.keys(table).sort()).toEqual(Object.keys(ALL_TYPES).sort());
    for (const handler of Object.values(table)) {
      expect(typeof handler).toBe("function");
    }
  });

  it("is a type that refuses a table without every message type", () => {
    const incomplete = { ping: () => undefined };
    // @ts-expect-error a table lacking handlers is no HandlerTable
    const table: HandlerTable = incomplete;
    expect(Object.keys(table)).toEqual(["ping"]);
  });
});
