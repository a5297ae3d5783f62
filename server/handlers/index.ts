/**
 * The handler table of the signaling server: every client message type, by family. Assigning the
 * families' union to {@link HandlerTable} is what makes a missing handler a compile error.
 */
import { availabilityHandlers } from "./availability.ts";
import { callHandlers } from "./calls.ts";
import { hostHandlers } from "./hosts.ts";
import { presenceHandlers } from "./presence.ts";
import { roomHandlers } from "./rooms.ts";
import { sessionHandlers } from "./session.ts";
import { watchHandlers } from "./watches.ts";
import type { HandlerServices, HandlerTable } from "./table.ts";

export { dispatch, type Handler, type HandlerServices, type HandlerTable } from "./table.ts";

/** One handler per client message type, built on `services`. */
export function handlerTable(services: HandlerServices): HandlerTable {
  const table: HandlerTable = {
    ...sessionHandlers(services),
    ...roomHandlers(services),
    ...hostHandlers(services),
    ...presenceHandlers(services),
    ...callHandlers(services),
    ...watchHandlers(services),
    ...availabilityHandlers(services),
  };
  return table;
}
