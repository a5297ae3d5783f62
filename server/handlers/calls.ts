/**
 * Handlers of the call family (`call`, `incomingCallResponse`, `stopCall`, `stop`,
 * `onIceCandidate`, `callDescription`): the call registry decides, the applier carries it out.
 */
import type { CallClientMessage } from "../../shared/protocol/call.ts";
import type { Handler, HandlerServices, HandlerTable } from "./table.ts";

/** The call family's handlers. */
export function callHandlers(services: HandlerServices): HandlerTable<CallClientMessage["type"]> {
  const { transport, calls, applier, callAttempts } = services;

  /** Hands `message` to the call registry; a refusal goes back to the sender alone. */
  const toRegistry: Handler<CallClientMessage> = (sender, message) => {
    const result = calls.handle(sender.id, message);
    if (result.ok) {
      applier.apply(result);
    } else {
      transport.refuse(sender, result.code, result.message, message.type);
    }
  };

  return {
    call(sender, message, text, bytes, nowMs) {
      if (!callAttempts.take(sender.address, nowMs)) {
        transport.refuse(sender, "rate_limited", "too many calls from this address; try again in a few seconds", message.type, nowMs);
        return;
      }
      toRegistry(sender, message, text, bytes, nowMs);
    },
    incomingCallResponse: toRegistry,
    stopCall: toRegistry,
    stop: toRegistry,
    onIceCandidate: toRegistry,
    callDescription: toRegistry,
  };
}
