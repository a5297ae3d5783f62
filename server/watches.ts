/**
 * Watch registry: the pure state of watches (one user watching another's camera, one way; see
 * shared/protocol/watch.ts), next to the call registry and built the same way: no sockets, no
 * clock, every operation returning its effects as data (server/effects.ts), time entering only
 * through {@link WatchRegistry.timerFired}.
 *
 * A watch is `pending` while the watched user is asked, then `active`. The server accepts by
 * itself when the watched user allowed the watcher (`allowWatching`, kept per login here and
 * dropped with it) or the watched login is a device. Watches and calls are independent: nothing here
 * reads or sets a call status; the directory entries get only the watch counts (`watching`,
 * `watchedBy`) of the users whose active watches changed.
 *
 * Like calls, watches survive a suspended session: the registry only hears of a login through
 * {@link WatchRegistry.loginEnded}, once the session layer ended it (grace window over, closed,
 * replaced); what is sent to a suspended side meanwhile is buffered by the session layer.
 */
import type { ErrorCode } from "../shared/protocol/errors.ts";
import type { PresenceUser } from "../shared/protocol/presence.ts";
import { assertNever } from "../shared/protocol/index.ts";
import { EVERYONE, type WatchClientMessage, type WatchParty, type WatchServerMessage } from "../shared/protocol/watch.ts";
import type { Delivery, Effects, TimerCommand } from "./effects.ts";
import type { PresenceChanges } from "./presence.ts";
import type { Logins } from "./stores.ts";
import { RING_TIMEOUT_MS } from "./calls.ts";

/** Watchers (active, and requests waiting for an answer) one user may have at once. */
export const MAX_WATCHERS_PER_USER = 8;

/** Users one user may watch (or wait to watch) at once. */
export const MAX_WATCHES_PER_USER = 8;

/** Users one login may name in `allowWatching` (`"*"` allows everyone at no cost). */
export const MAX_ALLOWED_WATCHERS = 64;

/** Timer id prefix of a pending request's timeout; see `timerOwner` in server/effects.ts. */
export const WATCH_TIMER_OWNER = "watchring";

/** One watch message for one connection. */
export type WatchDelivery = Delivery<WatchServerMessage>;

/** What an accepted operation asks of the server: deliveries, presence, timers. */
export interface WatchEffects extends Effects<WatchServerMessage> {
  timers: TimerCommand[];
  presence: PresenceChanges;
}

/** An accepted operation's result. */
export type WatchAccepted = { ok: true } & WatchEffects;

/** Result of an operation: its effects, or an error for the sender alone (nothing changed). */
export type WatchResult = WatchAccepted | { ok: false; code: ErrorCode; message: string };

/** Options of a {@link WatchRegistry}. */
export interface WatchRegistryOptions {
  /** How long a request waits for the watched user's answer; defaults to calls' {@link RING_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  /** Defaults to {@link MAX_WATCHERS_PER_USER}. */
  maxWatchersPerUser?: number;
}

/** Counts for health and metrics. */
export interface WatchStats {
  pendingWatches: number;
  activeWatches: number;
}

/** One side of a watch: its connection and user id. */
interface Side {
  readonly connectionId: string;
  readonly userID: string;
}

interface Watch {
  readonly id: string;
  readonly watcher: Side;
  readonly watched: Side;
  phase: "pending" | "active";
}

/** Who a login lets watch it without asking. */
interface AllowList {
  everyone: boolean;
  readonly users: Set<string>;
}

/** Every watch between the users of one {@link Logins} directory. */
export class WatchRegistry {
  readonly #logins: Logins;
  /** watch id → watch, in creation order. */
  readonly #watches = new Map<string, Watch>();
  /** connection id → its watches, either side. */
  readonly #watchesOf = new Map<string, Set<Watch>>();
  /** connection id → whom its login lets watch without asking. */
  readonly #allowed = new Map<string, AllowList>();
  readonly #requestTimeoutMs: number;
  readonly #maxWatchersPerUser: number;
  #lastWatchNumber = 0;

  constructor(logins: Logins, options: WatchRegistryOptions = {}) {
    this.#logins = logins;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? RING_TIMEOUT_MS;
    this.#maxWatchersPerUser = options.maxWatchersPerUser ?? MAX_WATCHERS_PER_USER;
    if (!(this.#requestTimeoutMs > 0) || !(this.#maxWatchersPerUser > 0)) {
      throw new RangeError("requestTimeoutMs and maxWatchersPerUser must be positive");
    }
  }

  /** Applies one decoded client message from `connectionId`. */
  handle(connectionId: string, message: WatchClientMessage): WatchResult {
    if (!this.#logins.loginOf(connectionId)) {
      return refuse("not_logged_in", `${message.type} needs login first`);
    }
    switch (message.type) {
      case "watch":
        return this.#watch(connectionId, message.userID);
      case "watchAnswer":
        return this.#answer(connectionId, message.watchId, message.accept);
      case "allowWatching":
        return this.#allowWatching(connectionId, message.userID, message.allow);
      case "stopWatching":
        return this.#stop(connectionId, message.watchId);
      case "watchDescription":
        return this.#relay(connectionId, message.watchId, message.type, { type: "watchDescription", watchId: message.watchId, sdp: message.sdp });
      case "watchCandidate":
        return this.#relay(connectionId, message.watchId, message.type, { type: "watchCandidate", watchId: message.watchId, candidate: message.candidate });
      default:
        return assertNever(message);
    }
  }

  /**
   * Ends every watch and request of `connectionId`, whose login the directory has just ended, and
   * forgets its allow list. Call it after the directory's operation, like the call registry's.
   */
  loginEnded(connectionId: string, reason: "replaced" | "disconnected"): WatchAccepted {
    const out = new Outcome();
    for (const watch of [...(this.#watchesOf.get(connectionId) ?? [])]) {
      const other = watch.watcher.connectionId === connectionId ? watch.watched : watch.watcher;
      if (watch.phase === "pending" && other === watch.watcher) {
        out.deliver(other.connectionId, { type: "watchRefused", watchId: watch.id, userID: watch.watched.userID, reason: "offline" });
      } else {
        out.deliver(other.connectionId, { type: "watchEnded", watchId: watch.id, reason });
      }
      this.#remove(watch, out);
    }
    this.#allowed.delete(connectionId);
    return this.#finish(out);
  }

  /** A request nobody answered in time: the watcher is refused, the watched side's prompt ends. */
  timerFired(timerId: string): WatchAccepted {
    const out = new Outcome();
    const watch = this.#watches.get(timerId.slice(WATCH_TIMER_OWNER.length + 1));
    if (watch?.phase === "pending") {
      out.deliver(watch.watcher.connectionId, { type: "watchRefused", watchId: watch.id, userID: watch.watched.userID, reason: "timeout" });
      out.deliver(watch.watched.connectionId, { type: "watchEnded", watchId: watch.id, reason: "timeout" });
      this.#remove(watch, out);
    }
    return this.#finish(out);
  }

  /** Current number of watches. */
  stats(): WatchStats {
    let pendingWatches = 0;
    for (const watch of this.#watches.values()) {
      if (watch.phase === "pending") {
        pendingWatches += 1;
      }
    }
    return { pendingWatches, activeWatches: this.#watches.size - pendingWatches };
  }

  #watch(connectionId: string, userID: string): WatchResult {
    const watcherID = this.#logins.loginOf(connectionId)?.userID ?? "";
    if (userID === watcherID) {
      return refuse("self_target", "a user cannot watch itself");
    }
    const own = [...(this.#watchesOf.get(connectionId) ?? [])].filter((watch) => watch.watcher.connectionId === connectionId);
    if (own.some((watch) => watch.watched.userID === userID)) {
      return refuse("invalid_state", `this user already watches (or asked to watch) "${userID}"`);
    }
    if (own.length >= MAX_WATCHES_PER_USER) {
      return refuse("too_many_watches", `a user may watch at most ${MAX_WATCHES_PER_USER} users at once`);
    }
    this.#lastWatchNumber += 1;
    const watchId = `w${this.#lastWatchNumber}`;
    const out = new Outcome();
    const watchedConnection = this.#logins.connectionOf(userID);
    const watchedEntry = watchedConnection === undefined ? undefined : this.#logins.presenceOf(watchedConnection);
    if (watchedConnection === undefined || !watchedEntry) {
      out.deliver(connectionId, { type: "watchRefused", watchId, userID, reason: "offline" });
      return this.#finish(out);
    }
    const watchers = [...(this.#watchesOf.get(watchedConnection) ?? [])].filter((watch) => watch.watched.connectionId === watchedConnection);
    if (watchers.length >= this.#maxWatchersPerUser) {
      return refuse("too_many_watchers", `"${userID}" already has ${this.#maxWatchersPerUser} watchers`);
    }
    const watch: Watch = {
      id: watchId,
      watcher: { connectionId, userID: watcherID },
      watched: { connectionId: watchedConnection, userID },
      phase: "pending",
    };
    this.#watches.set(watch.id, watch);
    for (const side of [watch.watcher, watch.watched]) {
      const set = this.#watchesOf.get(side.connectionId) ?? new Set<Watch>();
      set.add(watch);
      this.#watchesOf.set(side.connectionId, set);
    }
    const allowed = this.#allowed.get(watchedConnection);
    if (watchedEntry.device === true || allowed?.everyone === true || allowed?.users.has(watcherID) === true) {
      this.#start(watch, out);
    } else {
      out.deliver(connectionId, { type: "watchRequested", watchId, userID });
      out.deliver(watchedConnection, { type: "watchRequest", watchId, from: this.#party(watch.watcher) });
      out.timer({ op: "start", timerId: timerIdOf(watch), delayMs: this.#requestTimeoutMs });
    }
    return this.#finish(out);
  }

  #answer(connectionId: string, watchId: string, accept: boolean): WatchResult {
    const watch = this.#watches.get(watchId);
    if (!watch || watch.watched.connectionId !== connectionId) {
      return refuse("not_watching", `no request "${watchId}" asks to watch this user`);
    }
    if (watch.phase === "active") {
      return refuse("invalid_state", "this watch was already accepted");
    }
    const out = new Outcome();
    out.timer({ op: "cancel", timerId: timerIdOf(watch) });
    if (accept) {
      this.#start(watch, out);
    } else {
      out.deliver(watch.watcher.connectionId, { type: "watchRefused", watchId, userID: watch.watched.userID, reason: "denied" });
      this.#remove(watch, out);
    }
    return this.#finish(out);
  }

  #allowWatching(connectionId: string, userID: string, allow: boolean): WatchResult {
    const list = this.#allowed.get(connectionId) ?? { everyone: false, users: new Set<string>() };
    if (userID === EVERYONE) {
      list.everyone = allow;
    } else if (!allow) {
      list.users.delete(userID);
    } else if (!list.users.has(userID)) {
      if (list.users.size >= MAX_ALLOWED_WATCHERS) {
        return refuse("allow_list_full", `a login may allow at most ${MAX_ALLOWED_WATCHERS} users by name; allow "*" instead`);
      }
      list.users.add(userID);
    }
    this.#allowed.set(connectionId, list);
    const out = new Outcome();
    out.deliver(connectionId, { type: "watchAllowed", userID, allow });
    return this.#finish(out);
  }

  /**
   * `stopWatching`: the watcher withdraws its request or ends the watch, the watched user ends
   * the watch or turns a request down (the watcher then gets `watchRefused denied`).
   */
  #stop(connectionId: string, watchId: string): WatchResult {
    const watch = this.#watches.get(watchId);
    if (!watch || (watch.watcher.connectionId !== connectionId && watch.watched.connectionId !== connectionId)) {
      return refuse("not_watching", `"${watchId}" is no watch of this user`);
    }
    const out = new Outcome();
    const by = watch.watcher.connectionId === connectionId ? watch.watcher : watch.watched;
    if (watch.phase === "pending") {
      out.timer({ op: "cancel", timerId: timerIdOf(watch) });
    }
    if (watch.phase === "pending" && by === watch.watched) {
      out.deliver(watch.watcher.connectionId, { type: "watchRefused", watchId, userID: watch.watched.userID, reason: "denied" });
      out.deliver(watch.watched.connectionId, { type: "watchEnded", watchId, reason: "stopped", by: by.userID });
    } else {
      const ended: WatchServerMessage = { type: "watchEnded", watchId, reason: "stopped", by: by.userID };
      out.deliver(watch.watcher.connectionId, ended);
      out.deliver(watch.watched.connectionId, ended);
    }
    this.#remove(watch, out);
    return this.#finish(out);
  }

  /** Relays a description or candidate of an active watch to its other side. */
  #relay(connectionId: string, watchId: string, type: string, message: WatchServerMessage): WatchResult {
    const watch = this.#watches.get(watchId);
    if (!watch || (watch.watcher.connectionId !== connectionId && watch.watched.connectionId !== connectionId)) {
      return refuse("not_watching", `${type}: "${watchId}" is no watch of this user`);
    }
    if (watch.phase === "pending") {
      return refuse("invalid_state", `${type} needs a started watch; this one waits for its answer`);
    }
    const out = new Outcome();
    out.deliver(watch.watcher.connectionId === connectionId ? watch.watched.connectionId : watch.watcher.connectionId, message);
    return this.#finish(out);
  }

  /** Starts `watch`: both sides are told, the watched side gets its new watcher list. */
  #start(watch: Watch, out: Outcome): void {
    watch.phase = "active";
    out.deliver(watch.watcher.connectionId, { type: "watchStarted", watchId: watch.id, userID: watch.watched.userID, role: "watcher" });
    out.deliver(watch.watched.connectionId, { type: "watchStarted", watchId: watch.id, userID: watch.watcher.userID, role: "watched" });
    out.activeChanged(watch);
  }

  /** Forgets `watch`; when it was active, both sides' counts change and the watched side's list. */
  #remove(watch: Watch, out: Outcome): void {
    this.#watches.delete(watch.id);
    for (const side of [watch.watcher, watch.watched]) {
      const set = this.#watchesOf.get(side.connectionId);
      set?.delete(watch);
      if (set?.size === 0) {
        this.#watchesOf.delete(side.connectionId);
      }
    }
    if (watch.phase === "active") {
      out.activeChanged(watch);
    }
  }

  #party(side: Side): WatchParty {
    const login = this.#logins.loginOf(side.connectionId);
    const party: WatchParty = { userID: side.userID, username: login?.username ?? side.userID };
    if (login?.avatar !== undefined) {
      party.avatar = login.avatar;
    }
    return party;
  }

  /**
   * The operation's effects: the `watchers` list for every watched side whose active watchers
   * changed (still logged in), then the new counts of every side whose active watches changed.
   */
  #finish(out: Outcome): WatchAccepted {
    const updated: PresenceUser[] = [];
    for (const connectionId of out.changed) {
      if (!this.#logins.loginOf(connectionId)) {
        continue;
      }
      const active = [...(this.#watchesOf.get(connectionId) ?? [])].filter((watch) => watch.phase === "active");
      const watchers = active.filter((watch) => watch.watched.connectionId === connectionId);
      if (out.watchedChanged.has(connectionId)) {
        out.deliver(connectionId, {
          type: "watchers",
          watchers: watchers.map((watch) => ({ watchId: watch.id, ...this.#party(watch.watcher) })),
        });
      }
      if (this.#logins.setWatchCounts(connectionId, active.length - watchers.length, watchers.length)) {
        const entry = this.#logins.presenceOf(connectionId);
        if (entry) {
          updated.push(entry);
        }
      }
    }
    return { ok: true, deliveries: out.deliveries, timers: out.timers, presence: { unsubscribed: [], left: [], updated } };
  }
}

/** Collects one operation's effects. */
class Outcome {
  readonly deliveries: WatchDelivery[] = [];
  readonly timers: TimerCommand[] = [];
  /** Connections whose active watches changed, each once, in order of first change. */
  readonly changed: string[] = [];
  /** Of those, the ones whose watchers changed. */
  readonly watchedChanged = new Set<string>();

  deliver(to: string, message: WatchServerMessage): void {
    this.deliveries.push({ to, message });
  }

  timer(command: TimerCommand): void {
    this.timers.push(command);
  }

  activeChanged(watch: Watch): void {
    for (const side of [watch.watcher, watch.watched]) {
      if (!this.changed.includes(side.connectionId)) {
        this.changed.push(side.connectionId);
      }
    }
    this.watchedChanged.add(watch.watched.connectionId);
  }
}

function timerIdOf(watch: Watch): string {
  return `${WATCH_TIMER_OWNER}:${watch.id}`;
}

function refuse(code: ErrorCode, message: string): WatchResult {
  return { ok: false, code, message };
}
