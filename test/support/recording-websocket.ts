/**
 * A `ws` WebSocket that records every frame a client core sends and receives, parsed, so that a
 * test can assert on the wire messages a session exchanged.
 */
import WebSocket from "ws";
import type { WebSocketConstructor } from "../../client/core/index.ts";

/** One wire message as recorded: its `type` and whatever else it carried. */
export type WireMessage = { type: string } & Record<string, unknown>;

/** A WebSocket class for a session's `WebSocket` option that appends to `sent` and `received`. */
export function recordingWebSocket(sent: WireMessage[], received: WireMessage[]): WebSocketConstructor {
  return class extends WebSocket {
    constructor(address: string) {
      super(address);
      this.on("message", (frame) => received.push(JSON.parse(String(frame)) as WireMessage));
    }

    override send(text: string): void {
      sent.push(JSON.parse(text) as WireMessage);
      super.send(text);
    }
  };
}
