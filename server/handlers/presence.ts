/**
 * Handler of the presence family: `login`, which enters the login directory (taking the user id
 * over from an older connection, whose call the call registry ends) and starts (or joins) the
 * connection's resumable session.
 */
import { isAllowedAvatar } from "../avatars.ts";
import { combineEffects, type Effects } from "../effects.ts";
import type { HandlerServices, HandlerTable } from "./table.ts";

/** The presence family's handlers. */
export function presenceHandlers(services: HandlerServices): HandlerTable<"login"> {
  const { config, transport, logins, calls, sessions, applier, loginAttempts } = services;

  /**
   * Adds the session fields to an accepted `loginResponse` (`id`, the session's resume token,
   * `resumeGraceMs`) and the caller's ICE servers, when the server hands any out.
   */
  function withSessionFields(result: Effects, connectionId: string): Effects {
    const session = { id: connectionId, resumeToken: sessions.token(connectionId), resumeGraceMs: config.resumeGraceMs };
    const iceServers = services.handsOutIceServers ? services.iceServersFor(connectionId) : {};
    return {
      ...result,
      deliveries: result.deliveries.map((delivery) =>
        delivery.to === connectionId && delivery.message.type === "loginResponse" && delivery.message.content === "accepted"
          ? { ...delivery, message: { ...delivery.message, ...session, ...iceServers } }
          : delivery,
      ),
    };
  }

  return {
    login(sender, message, _text, _bytes, nowMs) {
      if (message.avatar !== undefined && !isAllowedAvatar(message.avatar, config.avatarHosts, sender.host)) {
        transport.refuse(sender, "avatar_not_allowed", "avatars may come from this server or the hosts it allows (--avatar-hosts)", message.type, nowMs);
        return;
      }
      if (!loginAttempts.take(sender.address, nowMs)) {
        transport.refuse(sender, "rate_limited", "too many login attempts from this address; try again in a few seconds", message.type, nowMs);
        return;
      }
      const result = logins.login(sender.id, message);
      if (!result.ok) {
        transport.refuse(sender, result.code, result.message, message.type);
        return;
      }
      // The newer login wins: the replaced connection's call ends as if it had dropped, before
      // that connection is told why and closed.
      const effects = result.replaced === undefined ? result : combineEffects(calls.loginEnded(result.replaced, "replaced"), result);
      applier.apply(withSessionFields(effects, sender.id));
    },
  };
}
