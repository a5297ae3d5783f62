/**
 * Session lifecycle: what one connection holds on the server (its room seat and/or its login,
 * under the connection id) across socket losses. A session that lost its socket abruptly is
 * suspended for the grace window (the others see nothing; what is sent to it is held), taken back
 * by `resume {id, resumeToken}`, or ended as a close ends it when the window runs out.
 *
 * It joins the room membership, the login directory, the call registry and the suspended sessions;
 * everything they ask for goes through the one {@link EffectsApplier}.
 */
import { nanoid } from "nanoid";
import type { ServerMessage } from "../shared/protocol/index.ts";
import type { AddressRateLimiter } from "./address-limits.ts";
import type { CallRegistry } from "./calls.ts";
import type { WatchRegistry } from "./watches.ts";
import { combineEffects, type Effects, type EffectsApplier } from "./effects.ts";
import { suspendsOnClose } from "./resume.ts";
import type { Logins, RoomMembership, SuspendedSessions } from "./stores.ts";
import type { Connection, SessionLoss, WebSocketTransport } from "./transport.ts";
import type { IssuedIceServers } from "./turn.ts";

/**
 * The `error.message` of every refused `resume`, whatever the reason: telling an unknown id from a
 * wrong token would tell a stranger which session ids are alive.
 */
const RESUME_REFUSED = "cannot resume that participant: join as a new one";

/** A new resume token: 32 nanoid characters (190 bits), flat like connection ids (see the transport). */
function newResumeToken(): string {
  return Buffer.from(nanoid(32), "latin1").toString("latin1");
}

/** What {@link Sessions} works with. */
export interface SessionsOptions {
  rooms: RoomMembership;
  logins: Logins;
  calls: CallRegistry;
  watches: WatchRegistry;
  suspended: SuspendedSessions;
  applier: EffectsApplier;
  transport: WebSocketTransport;
  /** How long a suspended session may be resumed; 0 never suspends. */
  graceMs: number;
  /** Refused resumes per address: past its budget an address is refused without a token check. */
  resumeFailures: AddressRateLimiter;
  /** The ICE servers `resumed` carries for session `id`: the credential it holds while not close to expiry. */
  iceServersFor(id: string): IssuedIceServers;
  /** Session `id` ended: the TURN credential held for it is dropped, never handed out again. */
  forgetIceServers(id: string): void;
}

/** Suspends, resumes and ends sessions. */
export class Sessions {
  readonly #options: SessionsOptions;

  constructor(options: SessionsOptions) {
    this.#options = options;
  }

  /** The resume token of session `id`: the one it holds (one per session), or a new one. */
  token(id: string): string {
    const { suspended } = this.#options;
    let token = suspended.tokenOf(id);
    if (token === undefined) {
      token = newResumeToken();
      suspended.admit(id, token);
    }
    return token;
  }

  /**
   * Session `id` lost its socket: suspended on an abrupt loss (network, timeout) while the server
   * runs, ended at once otherwise (see {@link suspendsOnClose}).
   */
  lost(id: string, loss: SessionLoss): void {
    const { rooms, logins, suspended, applier, transport, graceMs } = this.#options;
    const loggedIn = logins.loginOf(id) !== undefined;
    if (rooms.isWaiting(id)) {
      // A wait in the lobby is never resumed: the hosts see the waiter go at once.
      const left = rooms.leave(id);
      if (left.ok) {
        applier.apply(left);
      }
    }
    if (rooms.roomOf(id) === undefined && !loggedIn) {
      this.#options.forgetIceServers(id);
      applier.apply(suspended.forget(id));
      return;
    }
    const suspension = graceMs > 0 && !transport.shuttingDown && suspendsOnClose(loss.code, loss.closedByServer, loss.reason)
      ? suspended.suspend(id, performance.now())
      : undefined;
    if (suspension === undefined) {
      this.end(id);
      return;
    }
    // Nobody hears of it: the session keeps its seat and its login until it resumes or the window
    // ends. Presence is not held for it (`resumed` is followed by the whole directory instead).
    const effects: Effects = { deliveries: [], timers: suspension.timers };
    if (loggedIn) {
      effects.presence = { unsubscribed: [id], left: [], updated: [] };
    }
    applier.apply(effects);
  }

  /** The grace timer of session `id` ran out: unless it was resumed, it ends. */
  graceEnded(id: string): void {
    // This timer belongs to the current suspension (a resume cancels it, a new suspension replaces
    // it), so its window is over whatever the clock says.
    if (this.#options.suspended.expire(id, Number.POSITIVE_INFINITY)) {
      this.end(id);
    }
  }

  /**
   * Ends session `id` as a close ends it: it leaves its room (the others get `close_connection`
   * and `rest_connection_list`) and its login ends (`presenceLeft`; its call ends as for a closed
   * connection). Used on a close that does not suspend and when a suspension ends unresumed.
   */
  end(id: string): void {
    const { rooms, logins, calls, watches, suspended, applier, forgetIceServers } = this.#options;
    forgetIceServers(id);
    applier.apply(suspended.forget(id));
    const left = rooms.leave(id);
    if (left.ok) {
      applier.apply(left);
    }
    // The directory first, so that the call and watch registries no longer see the login; their
    // effects go out first, as for a replaced login.
    const loggedOut = logins.logout(id);
    applier.apply(combineEffects(combineEffects(calls.loginEnded(id, "disconnected"), watches.loginEnded(id, "disconnected")), loggedOut));
  }

  /**
   * `resume`: moves session `id` onto `connection`, which becomes that session (same id, same seat,
   * same login), and replays what was held for it after a fresh `presence` directory for a login.
   * The connection must be fresh: a room or a login of its own would be orphaned by the change of id.
   */
  resume(connection: Connection, id: string, token: string, nowMs: number): void {
    const { rooms, logins, suspended, applier, transport, resumeFailures } = this.#options;
    // Past its budget of refused resumes an address gets the same refusal without a token check,
    // so guessing tokens from it costs the guesser time and tells it nothing.
    if (!resumeFailures.allows(connection.address, nowMs)) {
      transport.refuse(connection, "resume_failed", RESUME_REFUSED, "resume", nowMs);
      return;
    }
    if (rooms.roomOf(connection.id) !== undefined || logins.loginOf(connection.id) !== undefined) {
      resumeFailures.take(connection.address, nowMs);
      transport.refuse(connection, "resume_failed", RESUME_REFUSED, "resume", nowMs);
      return;
    }
    const nextToken = newResumeToken();
    const outcome = suspended.resume(id, token, nextToken, performance.now());
    const room = rooms.roomOf(id);
    const login = logins.loginOf(id);
    if (!outcome.ok || (room === undefined && login === undefined)) {
      resumeFailures.take(connection.address, nowMs);
      transport.refuse(connection, "resume_failed", RESUME_REFUSED, "resume", nowMs);
      return;
    }
    applier.apply(outcome);
    transport.adopt(connection, id);
    const resumed: Extract<ServerMessage, { type: "resumed" }> = { type: "resumed", id, ...this.#options.iceServersFor(id), resumeToken: nextToken };
    const view = room === undefined ? undefined : rooms.viewOf(id);
    if (view !== undefined) {
      resumed.room = view.room;
      resumed.username = view.username;
      resumed.list = view.list;
      resumed.grants = view.grants;
      resumed.roomState = view.roomState;
    }
    if (login !== undefined) {
      resumed.login = login;
    }
    transport.reply(connection, resumed);
    if (login !== undefined) {
      // Presence was neither sent nor held while away: the whole directory now, and from then on
      // the changes like any subscriber (a half-open socket's subscription is replaced).
      applier.apply({ deliveries: [], presence: { subscribed: id, unsubscribed: [id], left: [], updated: [] } });
    }
    for (const frame of outcome.frames) {
      transport.sendFrame(id, frame);
    }
  }
}
