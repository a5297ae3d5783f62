/**
 * Handlers of the watch messages of the call family (`watch`, `watchAnswer`, `allowWatching`,
 * `stopWatching`, `watchDescription`, `watchCandidate`): the watch registry decides, the applier
 * carries it out. A `watch` spends the same per-address budget as a `call`.
 */
import type { WatchClientMessage } from "../../shared/protocol/watch.ts";
import type { Handler, HandlerServices, HandlerTable } from "./table.ts";

/** The watch handlers. */
export function watchHandlers(services: HandlerServices): HandlerTable<WatchClientMessage["type"]> {
  const { transport, watches, applier, callAttempts } = services;

  /** Hands `message` to the watch registry; a refusal goes back to the sender alone. */
  const toRegistry: Handler<WatchClientMessage> = (sender, message) => {
    const result = watches.handle(sender.id, message);
    if (result.ok) {
      applier.apply(result);
    } else {
      transport.refuse(sender, result.code, result.message, message.type);
    }
  };

  return {
    watch(sender, message, text, bytes, nowMs) {
      if (!callAttempts.take(sender.address, nowMs)) {
        transport.refuse(sender, "rate_limited", "too many calls and watches from this address; try again in a few seconds", message.type, nowMs);
        return;
      }
      toRegistry(sender, message, text, bytes, nowMs);
    },
    watchAnswer: toRegistry,
    allowWatching: toRegistry,
    stopWatching: toRegistry,
    watchDescription: toRegistry,
    watchCandidate: toRegistry,
  };
}
