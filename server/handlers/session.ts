/**
 * Handlers of the session family: `ping` (answered with `pong`), `resume` (take a suspended or
 * half-open session back) and `refresh_ice_servers` (fresh TURN credentials for a room or a call).
 */
import type { HandlerServices, HandlerTable } from "./table.ts";

/** The session family's handlers. */
export function sessionHandlers(services: HandlerServices): HandlerTable<"ping" | "resume" | "refresh_ice_servers"> {
  const { transport, rooms, logins, sessions } = services;
  return {
    ping(sender, message) {
      transport.reply(sender, message.t === undefined ? { type: "pong" } : { type: "pong", t: message.t });
    },
    resume(sender, message, _text, _bytes, nowMs) {
      sessions.resume(sender, message.id, message.resumeToken, nowMs);
    },
    refresh_ice_servers(sender, message) {
      if (rooms.roomOf(sender.id) === undefined && logins.loginOf(sender.id) === undefined) {
        transport.refuse(sender, "not_in_room", "refresh_ice_servers needs a joined room or a login", message.type);
        return;
      }
      transport.reply(sender, { type: "ice_servers", ...services.iceServersFor(sender.id) });
    },
  };
}
