/**
 * Handler of `setStatus` (presence family): a logged-in user says it is `unavailable` (a camera
 * whose source is down) or `online` again. The statuses of a call stay the call registry's: a
 * user in a call is refused `invalid_state`.
 */
import { SELF_SET_STATUSES, type PresenceStatus } from "../../shared/protocol/presence.ts";
import type { HandlerServices, HandlerTable } from "./table.ts";

/** True for the statuses a user sets itself, as opposed to those its calls give it. */
function isSelfSet(status: PresenceStatus): boolean {
  return (SELF_SET_STATUSES as readonly PresenceStatus[]).includes(status);
}

/** The `setStatus` handler. */
export function availabilityHandlers(services: HandlerServices): HandlerTable<"setStatus"> {
  const { transport, logins, applier } = services;
  return {
    setStatus(sender, message, _text, _bytes, nowMs) {
      const entry = logins.presenceOf(sender.id);
      if (!entry) {
        transport.refuse(sender, "not_logged_in", "setStatus needs login first", message.type, nowMs);
        return;
      }
      if (!isSelfSet(entry.status)) {
        transport.refuse(sender, "invalid_state", `the status follows the call while "${entry.status}"`, message.type, nowMs);
        return;
      }
      if (!logins.setStatus(sender.id, message.status)) {
        return;
      }
      const updated = logins.presenceOf(sender.id);
      applier.apply({ deliveries: [], presence: { unsubscribed: [], left: [], updated: updated ? [updated] : [] } });
    },
  };
}
