/**
 * Message dispatch: one handler per client message `type`, grouped by family (rooms, calls,
 * presence, session). {@link HandlerTable} is keyed by every `type` of the protocol, so a new
 * client message without a handler does not compile.
 */
import type { ClientMessage, ClientMessageType } from "../../shared/protocol/index.ts";
import type { AddressRateLimiter, FailureWindow } from "../address-limits.ts";
import type { CallRegistry } from "../calls.ts";
import type { WatchRegistry } from "../watches.ts";
import type { ServerConfig } from "../config.ts";
import type { EffectsApplier } from "../effects.ts";
import type { Sessions } from "../sessions.ts";
import type { Logins, RoomMembership, SuspendedSessions } from "../stores.ts";
import type { Connection, WebSocketTransport } from "../transport.ts";
import type { TokenVerifier } from "../tokens.ts";
import type { AccountVerifier } from "../account-verifier.ts";
import type { IssuedIceServers } from "../turn.ts";

/** The client message of `type`. */
export type MessageOf<Type extends ClientMessageType> = Extract<ClientMessage, { type: Type }>;

/**
 * Acts on one validated `message` from `sender`. `text` and `bytes` are the frame it was decoded
 * from (`bytes` valid during this call only), used by the relay fast path. A handler that must
 * await (token or password verification) returns a promise: the connection's later messages wait for it
 * (server/ordered-messages.ts), and after its await it checks the connection is still open.
 */
export type Handler<Message extends ClientMessage> = (sender: Connection, message: Message, text: string, bytes: Uint8Array, nowMs: number) => void | Promise<void>;

/** A handler for each of `Types`; with the default, for every client message type. */
export type HandlerTable<Types extends ClientMessageType = ClientMessageType> = { readonly [Type in Types]: Handler<MessageOf<Type>> };

/** What the handlers work with. */
export interface HandlerServices {
  config: ServerConfig;
  transport: WebSocketTransport;
  rooms: RoomMembership;
  logins: Logins;
  calls: CallRegistry;
  watches: WatchRegistry;
  suspended: SuspendedSessions;
  sessions: Sessions;
  applier: EffectsApplier;
  /** Per-address budgets of the messages that cost the server most. */
  loginAttempts: AddressRateLimiter;
  callAttempts: AddressRateLimiter;
  /** Wrong room passwords per client address and room (server/handlers/rooms.ts). */
  passwordFailures: FailureWindow;
  /** The ICE servers handed to session `id` now. */
  iceServersFor(id: string): IssuedIceServers;
  /** True when the server hands out ICE servers at all (STUN configured or TURN credentials). */
  handsOutIceServers: boolean;
  /** Token mode: verifies the join and login tokens. Undefined in open mode, where tokens are ignored. */
  tokens?: TokenVerifier;
  /** Accounts mode: checks the user id and password of logins and joins. Undefined in the other modes. */
  accounts?: AccountVerifier;
}

/** The handler of `message`'s type, called with it; its promise when it is asynchronous. */
export function dispatch(table: HandlerTable, sender: Connection, message: ClientMessage, text: string, bytes: Uint8Array, nowMs: number): void | Promise<void> {
  // The table holds the handler of exactly this type; TypeScript cannot tie the two unions together.
  return (table[message.type] as Handler<ClientMessage>)(sender, message, text, bytes, nowMs);
}
