/**
 * Handler of the presence family: `login`, which enters the login directory (taking the user id
 * over from an older connection when the login proves it may: a verified token or account
 * password, or in open mode that user's reclaim key; the call registry ends the older connection's call) and starts (or
 * joins) the connection's resumable session.
 */
import { isAllowedAvatar } from "../avatars.ts";
import { combineEffects, type Effects } from "../effects.ts";
import type { LoginMessage } from "../../shared/protocol/presence.ts";
import type { LoginProof } from "../logins.ts";
import type { TokenVerifier } from "../tokens.ts";
import type { AccountVerifier } from "../account-verifier.ts";
import type { Connection } from "../transport.ts";
import type { HandlerServices, HandlerTable } from "./table.ts";

/** The presence family's handlers. */
export function presenceHandlers(services: HandlerServices): HandlerTable<"login"> {
  const { config, transport, logins, calls, watches, sessions, applier, loginAttempts } = services;

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

  /** Logs `sender` in as `message` says (in token mode, a message built from the verified token). */
  function login(sender: Connection, message: LoginMessage, proof: LoginProof): void {
    const result = logins.login(sender.id, message, proof);
    if (!result.ok) {
      transport.refuse(sender, result.code, result.message, message.type);
      return;
    }
    // The newer login (which proved it is the same user) wins: the replaced connection's call and
    // watches end as if it had dropped, before that connection is told why and closed.
    const effects =
      result.replaced === undefined
        ? result
        : combineEffects(combineEffects(calls.loginEnded(result.replaced, "replaced"), watches.loginEnded(result.replaced, "replaced")), result);
    applier.apply(withSessionFields(effects, sender.id));
  }

  /**
   * Token mode: logs in as the verified login token says (`sub` is the user id; the message's own
   * `userID`, `username` and `avatar` are ignored). A refused token changes nothing; a connection
   * that closed while the token was verified is left alone.
   */
  async function loginWithToken(sender: Connection, token: string, verifier: TokenVerifier): Promise<void> {
    const verdict = await verifier.verifyLogin(token);
    if (!transport.isOpen(sender)) {
      return;
    }
    if (!verdict.ok) {
      transport.refuse(sender, verdict.code, verdict.message, "login");
      return;
    }
    const { userId, name, avatar, grants } = verdict.claims;
    login(sender, { type: "login", userID: userId, username: name, avatar, ...(grants.device ? { device: true } : {}) }, "token");
  }

  /**
   * Accounts mode: logs in as the account once its password is checked, exactly as a login token
   * with the account's id, display name and avatar and no `device` grant would (the message's own
   * `username`, `avatar` and `device` are ignored). A refusal changes nothing; a connection that closed meanwhile is left alone.
   */
  async function loginWithAccount(sender: Connection, userID: string, password: string, verifier: AccountVerifier): Promise<void> {
    const verdict = await verifier.verify(userID, password, sender.address, performance.now());
    if (!transport.isOpen(sender)) {
      return;
    }
    if (!verdict.ok) {
      transport.refuse(sender, verdict.code, verdict.message, "login");
      return;
    }
    const { account } = verdict.verified;
    login(sender, { type: "login", userID, username: account.displayName, avatar: account.avatar }, "account");
  }

  return {
    login(sender, message, _text, _bytes, nowMs) {
      if (services.accounts !== undefined) {
        if (message.password === undefined) {
          transport.refuse(sender, "credentials_missing", "this server needs an account password in login.password", message.type, nowMs);
          return;
        }
        // The budget is taken before the scrypt work, whose cost it bounds.
        if (!loginAttempts.take(sender.address, nowMs)) {
          transport.refuse(sender, "rate_limited", "too many login attempts from this address; try again in a few seconds", message.type, nowMs);
          return;
        }
        return loginWithAccount(sender, message.userID, message.password, services.accounts);
      }
      if (services.tokens !== undefined) {
        if (message.token === undefined) {
          transport.refuse(sender, "token_missing", "this server needs a login token in login.token", message.type, nowMs);
          return;
        }
        // The budget is taken before the verification, whose cost it bounds.
        if (!loginAttempts.take(sender.address, nowMs)) {
          transport.refuse(sender, "rate_limited", "too many login attempts from this address; try again in a few seconds", message.type, nowMs);
          return;
        }
        return loginWithToken(sender, message.token, services.tokens);
      }
      if (message.avatar !== undefined && !isAllowedAvatar(message.avatar, config.avatarHosts, sender.host)) {
        transport.refuse(sender, "avatar_not_allowed", "avatars may come from this server or the hosts it allows (--avatar-hosts)", message.type, nowMs);
        return;
      }
      if (!loginAttempts.take(sender.address, nowMs)) {
        transport.refuse(sender, "rate_limited", "too many login attempts from this address; try again in a few seconds", message.type, nowMs);
        return;
      }
      login(sender, message, "reclaim_key");
    },
  };
}
