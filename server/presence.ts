/**
 * Presence fan-out: turns the directory changes of the login directory and the call registry into
 * `presence*` frames for every logged-in connection, coalesced per window. Pure like them: no
 * sockets, no clock.
 *
 * Without coalescing every status change of a caller and a callee is one frame to every logged-in
 * connection, so one `call` costs about two frames per logged-in user and a burst of calls floods
 * every bystander. Here a change only marks its user dirty and opens a window; the effects applier runs
 * the window's timer and calls {@link PresenceFanout.flush} when it runs out, which sends each
 * connection at most ONE frame carrying the difference between what it was told and the directory
 * now: `presenceUpdate` or `presenceLeft` for a single change, `presenceChanges` for more, nothing
 * for a user whose entry changed and changed back.
 *
 * Consistency rests on one invariant: after every flush, every subscriber has been told exactly the
 * current directory (entries and order). Between flushes it lags by at most one window.
 * - A connection that logs in gets the whole `presence` at once (right after its `loginResponse`,
 *   as before coalescing) and, at the flush, the difference between that snapshot and the directory
 *   then: its baseline is recorded per dirty user, so it neither misses a change that happened after
 *   its snapshot nor gets one that reverted to what the snapshot showed.
 * - A user that goes offline and logs in again within a window is sent as both (`left`, then its
 *   entry appended), since clients list users in login order and the new login is at the end.
 * - A takeover (4003) changes the entry in place: the replaced connection leaves the audience at
 *   once and the others see at most one update.
 */
import type { PresenceServerMessage, PresenceUser } from "../shared/protocol/presence.ts";
import type { PresenceDirectory } from "./stores.ts";

/** Default of `presenceWindowMs`: long enough to merge a burst, short enough to feel live. */
export const PRESENCE_WINDOW_MS = 50;

/**
 * How one operation of the login directory or the call registry (or both, for a login that ends a
 * call) changed the directory and its audience. The effects applier passes it to
 * {@link PresenceFanout.apply} unchanged.
 */
export interface PresenceChanges {
  /** The connection that just logged in: it gets the whole directory and joins the audience. */
  subscribed?: string;
  /** Connections no longer logged in (closed, or replaced by a newer login): they leave the audience. */
  unsubscribed: string[];
  /** Users gone offline, each not back by the end of the operation. */
  left: string[];
  /** New entries of users who came online or changed, in order of first change. */
  updated: PresenceUser[];
}

/** One presence message for one connection, identified by its server-assigned id. */
export interface PresenceDelivery {
  to: string;
  message: PresenceServerMessage;
}

/** What {@link PresenceFanout.apply} asks of the effects applier. */
export interface PresenceEffects {
  /** Messages to send now: the snapshot of a new login (or, without coalescing, every change). */
  deliveries: PresenceDelivery[];
  /**
   * True when this operation opened a window: call {@link PresenceFanout.flush} once it has run out
   * (`presenceWindowMs` later, or at the end of the event-loop turn for 0). At most one window is
   * open at a time.
   */
  startWindow: boolean;
}

/** Options of a {@link PresenceFanout}. */
export interface PresenceFanoutOptions {
  /**
   * False sends every change at once, one frame per changed user per connection, and never opens a
   * window: the fan-out as it was before coalescing, kept as the baseline `bench:presence` measures
   * against. Defaults to true.
   */
  coalesce?: boolean;
}

/** A user changed during the open window. */
interface Dirty {
  /** The entry the audience was told, i.e. the entry at the start of the window; undefined when offline. */
  readonly told: PresenceUser | undefined;
  /** Times the user went offline during the window. */
  leaves: number;
  /** Order in which the user was last (re)added to the directory, to send appended users in login order. */
  addedSeq: number;
}

/** What a connection that logged in during the window was shown of one dirty user. */
interface Baseline {
  entry: PresenceUser | undefined;
  leaves: number;
}

/** One recipient's difference, before it is turned into a message. */
interface Delta {
  users: PresenceUser[];
  left: string[];
}

/**
 * The directory as subscribers see it, and the changes they have not been told yet: the in-memory
 * default of {@link PresenceDirectory} (server/stores.ts).
 */
export class PresenceFanout implements PresenceDirectory {
  readonly #coalesce: boolean;
  /** user id → entry: the directory now, in login order (a takeover keeps its place). */
  readonly #current = new Map<string, PresenceUser>();
  /** Logged-in connections told everything up to the last flush, in login order. */
  readonly #subscribers = new Set<string>();
  /** Users changed since the last flush, in order of first change. */
  readonly #dirty = new Map<string, Dirty>();
  /** Connections that logged in during the window → what their snapshot showed of the users dirty then. */
  readonly #newcomers = new Map<string, Map<string, Baseline>>();
  #windowOpen = false;
  #lastAddedSeq = 0;

  constructor(options: PresenceFanoutOptions = {}) {
    this.#coalesce = options.coalesce ?? true;
  }

  /** True between a {@link PresenceEffects.startWindow} and the {@link flush} that closes it. */
  get windowOpen(): boolean {
    return this.#windowOpen;
  }

  /** The directory now, in login order: what every subscriber will have been told after the next flush. */
  directory(): PresenceUser[] {
    return [...this.#current.values()];
  }

  /** Records one operation's changes; sends a new login its snapshot at once. */
  apply(changes: PresenceChanges): PresenceEffects {
    for (const connectionId of changes.unsubscribed) {
      this.#subscribers.delete(connectionId);
      this.#newcomers.delete(connectionId);
    }
    if (!this.#coalesce) {
      return { deliveries: this.#applyAtOnce(changes), startWindow: false };
    }
    for (const userID of changes.left) {
      if (this.#current.has(userID)) {
        this.#touch(userID).leaves += 1;
        this.#current.delete(userID);
      }
    }
    for (const entry of changes.updated) {
      const dirty = this.#touch(entry.userID);
      if (!this.#current.has(entry.userID)) {
        this.#lastAddedSeq += 1;
        dirty.addedSeq = this.#lastAddedSeq;
      }
      this.#current.set(entry.userID, entry);
    }
    const deliveries: PresenceDelivery[] = [];
    if (changes.subscribed !== undefined) {
      deliveries.push({ to: changes.subscribed, message: { type: "presence", users: this.directory() } });
      if (this.#dirty.size === 0) {
        this.#subscribers.add(changes.subscribed);
      } else {
        // The snapshot is ahead of what the others were told: remember how, for this connection's
        // own difference at the flush.
        const baseline = new Map<string, Baseline>();
        for (const [userID, dirty] of this.#dirty) {
          baseline.set(userID, { entry: this.#current.get(userID), leaves: dirty.leaves });
        }
        this.#newcomers.set(changes.subscribed, baseline);
      }
    }
    const startWindow = !this.#windowOpen && this.#dirty.size > 0;
    if (startWindow) {
      this.#windowOpen = true;
    }
    return { deliveries, startWindow };
  }

  /**
   * Closes the window: one frame per subscriber carrying every change it has not been told, none
   * for a subscriber with nothing to learn. Harmless when no window is open.
   */
  flush(): PresenceDelivery[] {
    this.#windowOpen = false;
    const deliveries: PresenceDelivery[] = [];
    if (this.#dirty.size === 0) {
      return deliveries;
    }
    // Everyone told the same thing shares one message object, which the applier serializes once.
    const shared = messageFor(this.#delta(undefined));
    if (shared) {
      for (const to of this.#subscribers) {
        deliveries.push({ to, message: shared });
      }
    }
    for (const [to, baseline] of this.#newcomers) {
      const own = messageFor(this.#delta(baseline));
      if (own) {
        deliveries.push({ to, message: own });
      }
      this.#subscribers.add(to);
    }
    this.#newcomers.clear();
    this.#dirty.clear();
    return deliveries;
  }

  /** The dirty record of `userID`, created with the entry the audience was told. */
  #touch(userID: string): Dirty {
    let dirty = this.#dirty.get(userID);
    if (!dirty) {
      dirty = { told: this.#current.get(userID), leaves: 0, addedSeq: 0 };
      this.#dirty.set(userID, dirty);
    }
    return dirty;
  }

  /**
   * What a recipient must be told: the dirty users whose entry differs from what it was shown (the
   * start of the window, or its own snapshot), updates in place first, then appended users in the
   * order they were added.
   */
  #delta(baseline: Map<string, Baseline> | undefined): Delta {
    const delta: Delta = { users: [], left: [] };
    const appended: [number, PresenceUser][] = [];
    for (const [userID, dirty] of this.#dirty) {
      const shown = baseline?.get(userID) ?? { entry: dirty.told, leaves: 0 };
      const now = this.#current.get(userID);
      if (now === undefined) {
        if (shown.entry !== undefined) {
          delta.left.push(userID);
        }
      } else if (shown.entry === undefined) {
        appended.push([dirty.addedSeq, now]);
      } else if (dirty.leaves > shown.leaves) {
        // Went offline and came back: a new login, listed again at the end.
        delta.left.push(userID);
        appended.push([dirty.addedSeq, now]);
      } else if (!sameEntry(shown.entry, now)) {
        delta.users.push(now);
      }
    }
    appended.sort((a, b) => a[0] - b[0]);
    for (const [, entry] of appended) {
      delta.users.push(entry);
    }
    return delta;
  }

  /** Without coalescing: one `presenceUpdate` per updated user, then one `presenceLeft` per user gone, to everyone but the new login. */
  #applyAtOnce(changes: PresenceChanges): PresenceDelivery[] {
    const deliveries: PresenceDelivery[] = [];
    for (const userID of changes.left) {
      this.#current.delete(userID);
    }
    for (const entry of changes.updated) {
      this.#current.set(entry.userID, entry);
    }
    if (changes.subscribed !== undefined) {
      deliveries.push({ to: changes.subscribed, message: { type: "presence", users: this.directory() } });
    }
    for (const user of changes.updated) {
      const message: PresenceServerMessage = { type: "presenceUpdate", user };
      for (const to of this.#subscribers) {
        deliveries.push({ to, message });
      }
    }
    for (const userID of changes.left) {
      const message: PresenceServerMessage = { type: "presenceLeft", userID };
      for (const to of this.#subscribers) {
        deliveries.push({ to, message });
      }
    }
    if (changes.subscribed !== undefined) {
      this.#subscribers.add(changes.subscribed);
    }
    return deliveries;
  }
}

/** The one frame for `delta`: the single-change messages clients already know, `presenceChanges` for more. */
function messageFor(delta: Delta): PresenceServerMessage | undefined {
  const count = delta.users.length + delta.left.length;
  if (count === 0) {
    return undefined;
  }
  if (count > 1) {
    return { type: "presenceChanges", users: delta.users, left: delta.left };
  }
  const [user] = delta.users;
  return user ? { type: "presenceUpdate", user } : { type: "presenceLeft", userID: delta.left[0] as string };
}

function sameEntry(a: PresenceUser, b: PresenceUser): boolean {
  return (
    a === b ||
    (a.userID === b.userID &&
      a.username === b.username &&
      a.avatar === b.avatar &&
      a.status === b.status &&
      a.device === b.device &&
      a.watching === b.watching &&
      a.watchedBy === b.watchedBy)
  );
}
