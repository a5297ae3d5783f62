/**
 * Handlers of the room family: joining (`new_user`, through the room's lock, password and lobby),
 * leaving (`close_connection`) and the relayed
 * negotiation (`send_offer`, `send_aswer`, `new_candidate`), whose fast path forwards the frame's
 * bytes with a stamp (`WebSocketTransport.relay`, server/transport.ts).
 */
import { PROTOCOL_VERSION } from "../../shared/protocol/index.ts";
import { derivePasswordKey } from "../room-passwords.ts";
import type { JoinGrants, JoinRequest } from "../rooms.ts";
import type { TokenVerifier } from "../tokens.ts";
import type { AccountVerifier } from "../account-verifier.ts";
import { joinGrantsOfRole } from "../accounts.ts";
import type { AccountCredentials } from "../../shared/protocol/index.ts";
import type { Connection } from "../transport.ts";
import type { Handler, HandlerServices, HandlerTable, MessageOf } from "./table.ts";
import { welcome } from "./welcome.ts";

/** The room family's message types (the host controls are in ./hosts.ts). */
export type RoomMessageType = "new_user" | "close_connection" | "send_offer" | "send_aswer" | "new_candidate";

/** Wrong room passwords one client address may try per room within {@link PASSWORD_FAILURE_WINDOW_MS}. */
export const MAX_PASSWORD_FAILURES = 5;

/** The window of {@link MAX_PASSWORD_FAILURES}. */
export const PASSWORD_FAILURE_WINDOW_MS = 60_000;

/** Open mode grants everyone everything but hosting (the registry makes a new room's first participant host) and hiding. */
const OPEN_MODE_GRANTS: JoinGrants = { publish: true, data: true, host: false, hidden: false, bypassLobby: false };

/** The key of the wrong-password window: one client address trying one room. */
function passwordFailureKey(address: string, room: string): string {
  return `${address} ${room}`;
}

/** The room family's handlers. */
export function roomHandlers(services: HandlerServices): HandlerTable<RoomMessageType> {
  const { config, transport, rooms, logins, suspended, sessions, applier, passwordFailures, loginAttempts } = services;

  /**
   * Relays a validated negotiation message to its target, stamped with the sender. A suspended
   * target gets it on resume; that rare slow path serializes the stamped message.
   */
  const relay: Handler<MessageOf<"send_offer" | "send_aswer" | "new_candidate">> = (sender, message, text, bytes, nowMs) => {
    const route = rooms.route(sender.id, message.type, message.targetId);
    if (!route.ok) {
      transport.refuse(sender, route.code, route.message, message.type, nowMs);
      return;
    }
    if (!transport.relay(sender, route.to, route.username, message, text, bytes) && suspended.isSuspended(route.to)) {
      applier.hold(route.to, JSON.stringify({ ...message, id: sender.id, username: route.username }));
      applier.settleOverflows();
    }
  };

  /**
   * Joins `sender` to `room` as `username` with `grants` (the message's name and open-mode grants
   * in open mode, the token's in token mode), through the room's gate: lock, then password, then
   * the lobby. Asynchronous only when a password must be derived.
   */
  function join(sender: Connection, room: string, username: string, grants: JoinGrants, password: string | undefined): void | Promise<void> {
    const gate = rooms.joinGate(room, grants);
    if (!gate.ok) {
      transport.refuse(sender, gate.code, gate.message, "new_user");
      return;
    }
    if (gate.passwordSalt !== undefined && password !== undefined) {
      return joinWithPassword(sender, { room, username, grants }, password, gate.passwordSalt);
    }
    enter(sender, { room, username, grants });
  }

  /**
   * The password step of {@link join}: refused while the address has too many wrong passwords for
   * this room (checked before the costly derivation), derived off the event loop, then compared by
   * the registry. A connection that closed meanwhile is left alone.
   */
  async function joinWithPassword(sender: Connection, request: JoinRequest, password: string, salt: string): Promise<void> {
    const failureKey = passwordFailureKey(sender.address, request.room);
    const blockedForMs = passwordFailures.blockedForMs(failureKey, performance.now());
    if (blockedForMs > 0) {
      transport.refuse(sender, "password_rate_limited", `too many wrong passwords for this room; try again in ${Math.ceil(blockedForMs / 1000)} s`, "new_user");
      return;
    }
    const passwordKey = await derivePasswordKey(password, salt);
    if (!transport.isOpen(sender)) {
      return;
    }
    enter(sender, { ...request, passwordKey }, failureKey);
  }

  /** Asks the registry to let `sender` in: `joined` and the announcements, the lobby, or a refusal. */
  function enter(sender: Connection, request: JoinRequest, failureKey?: string): void {
    const result = rooms.join(sender.id, request);
    if (!result.ok) {
      if (result.code === "wrong_password" && failureKey !== undefined) {
        passwordFailures.fail(failureKey, performance.now());
      }
      transport.refuse(sender, result.code, result.message, "new_user");
      return;
    }
    if (result.outcome === "admitted") {
      welcome(services, result.admission);
    }
    applier.apply(result);
  }

  /**
   * Token mode: joins once the join token for `message.room` is verified, with its name and
   * grants; a refused token changes nothing. A connection that closed while the token was
   * verified is left alone.
   */
  async function joinWithToken(sender: Connection, message: MessageOf<"new_user">, token: string, verifier: TokenVerifier): Promise<void> {
    const verdict = await verifier.verifyJoin(token, message.room);
    if (!transport.isOpen(sender)) {
      return;
    }
    if (!verdict.ok) {
      transport.refuse(sender, verdict.code, verdict.message, message.type);
      return;
    }
    await join(sender, message.room, verdict.claims.name, { ...verdict.claims.grants }, message.password);
  }

  /**
   * Accounts mode: joins once the account's password is checked, under the account's display name
   * with its role's grants, as a join token carrying them would. A refusal changes nothing; a
   * connection that closed meanwhile is left alone.
   */
  async function joinWithAccount(sender: Connection, message: MessageOf<"new_user">, credentials: AccountCredentials, verifier: AccountVerifier): Promise<void> {
    const verdict = await verifier.verify(credentials.userID, credentials.password, sender.address, performance.now());
    if (!transport.isOpen(sender)) {
      return;
    }
    if (!verdict.ok) {
      transport.refuse(sender, verdict.code, verdict.message, message.type);
      return;
    }
    const { account, role } = verdict.verified;
    await join(sender, message.room, account.displayName, joinGrantsOfRole(role), message.password);
  }

  return {
    new_user(sender, message, _text, _bytes, nowMs) {
      if (message.protocolVersion !== undefined && message.protocolVersion !== PROTOCOL_VERSION) {
        transport.refuse(sender, "unsupported_version", `this server speaks protocol version ${PROTOCOL_VERSION}`, message.type);
        return;
      }
      if (services.accounts !== undefined) {
        if (message.account === undefined) {
          transport.refuse(sender, "credentials_missing", "this server needs an account in new_user.account", message.type, nowMs);
          return;
        }
        // Joins and logins share the address's sign-in budget, taken before the scrypt work it bounds.
        if (!loginAttempts.take(sender.address, nowMs)) {
          transport.refuse(sender, "rate_limited", "too many sign-in attempts from this address; try again in a few seconds", message.type, nowMs);
          return;
        }
        return joinWithAccount(sender, message, message.account, services.accounts);
      }
      if (services.tokens !== undefined) {
        if (message.token === undefined) {
          transport.refuse(sender, "token_missing", "this server needs a join token in new_user.token", message.type);
          return;
        }
        return joinWithToken(sender, message, message.token, services.tokens);
      }
      return join(sender, message.room, message.username, OPEN_MODE_GRANTS, message.password);
    },
    close_connection(sender, message) {
      const result = rooms.leave(sender.id);
      if (!result.ok) {
        transport.refuse(sender, result.code, result.message, message.type);
        return;
      }
      if (logins.loginOf(sender.id) === undefined) {
        // Nothing left to resume; a login keeps the session and its token.
        applier.apply(suspended.forget(sender.id));
      }
      applier.apply(result);
    },
    send_offer: relay,
    send_aswer: relay,
    new_candidate: relay,
  };
}
