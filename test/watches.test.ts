/**
 * Unit tests of the pure watch registry on the real login directory: who gets what for each
 * message (asked, auto-accepted, denied, withdrawn, stopped, timed out, logins ending), the bounds,
 * the relay of descriptions and candidates, and the watch counts in directory entries. Every client
 * message goes through the real schemas first.
 */
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { LoginDirectory } from "../server/logins.ts";
import { MAX_WATCHES_PER_USER, WatchRegistry, type WatchAccepted, type WatchResult } from "../server/watches.ts";
import { WATCH_CLIENT_SCHEMAS, type WatchServerMessage } from "../shared/protocol/watch.ts";

const ClientSchema = v.variant("type", [...WATCH_CLIENT_SCHEMAS]);
const OFFER = { type: "offer", sdp: "v=0\r\n(offer)" } as const;
const CANDIDATE = { candidate: "candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 };

/** The directory and the registry, with each connection's messages collected. */
class Board {
  readonly logins = new LoginDirectory();
  readonly watches: WatchRegistry;
  readonly inbox = new Map<string, WatchServerMessage[]>();
  readonly timers = new Set<string>();

  constructor(maxWatchersPerUser?: number) {
    this.watches = new WatchRegistry(this.logins, { requestTimeoutMs: 1_000, ...(maxWatchersPerUser !== undefined ? { maxWatchersPerUser } : {}) });
  }

  /** Logs `userID` in on connection `userID` (a device when asked). */
  login(userID: string, device = false): void {
    const result = this.logins.login(userID, { type: "login", userID, ...(device ? { device } : {}) }, "reclaim_key");
    expect(result.ok).toBe(true);
  }

  /** Sends `raw` from connection `from`, decoded with the real schemas. */
  send(from: string, raw: Record<string, unknown>): WatchResult {
    const result = this.watches.handle(from, v.parse(ClientSchema, raw));
    if (result.ok) {
      this.#apply(result);
    }
    return result;
  }

  /** Ends `connectionId`'s login as the session layer does. */
  logout(connectionId: string, reason: "replaced" | "disconnected" = "disconnected"): void {
    this.logins.logout(connectionId);
    this.#apply(this.watches.loginEnded(connectionId, reason));
  }

  fire(timerId: string): void {
    this.#apply(this.watches.timerFired(timerId));
  }

  /** Messages `to` got since the last call, emptied. */
  take(to: string): WatchServerMessage[] {
    const messages = this.inbox.get(to) ?? [];
    this.inbox.set(to, []);
    return messages;
  }

  #apply(result: WatchAccepted): void {
    for (const { to, message } of result.deliveries) {
      this.inbox.set(to, [...(this.inbox.get(to) ?? []), message]);
    }
    for (const timer of result.timers) {
      if (timer.op === "start") {
        this.timers.add(timer.timerId);
      } else {
        this.timers.delete(timer.timerId);
      }
    }
  }
}

/** A board with `names` logged in. */
function board(...names: string[]): Board {
  const b = new Board();
  for (const name of names) {
    b.login(name);
  }
  return b;
}

describe("watch registry: happy path", () => {
  it("asks the watched user, then starts the watch for both when it accepts", () => {
    const b = board("ann", "bob");
    expect(b.send("ann", { type: "watch", userID: "bob" }).ok).toBe(true);
    expect(b.take("ann")).toEqual([{ type: "watchRequested", watchId: "w1", userID: "bob" }]);
    expect(b.take("bob")).toEqual([{ type: "watchRequest", watchId: "w1", from: { userID: "ann", username: "ann" } }]);
    expect(b.timers.has("watchring:w1")).toBe(true);
    expect(b.send("bob", { type: "watchAnswer", watchId: "w1", accept: true }).ok).toBe(true);
    expect(b.timers.size).toBe(0);
    expect(b.take("ann")).toEqual([{ type: "watchStarted", watchId: "w1", userID: "bob", role: "watcher" }]);
    expect(b.take("bob")).toEqual([
      { type: "watchStarted", watchId: "w1", userID: "ann", role: "watched" },
      { type: "watchers", watchers: [{ watchId: "w1", userID: "ann", username: "ann" }] },
    ]);
    expect(b.logins.presenceOf("ann")).toMatchObject({ watching: 1 });
    expect(b.logins.presenceOf("bob")).toMatchObject({ watchedBy: 1 });
  });

  it.each([
    ["the watched user allowed this watcher", (b: Board) => b.send("bob", { type: "allowWatching", userID: "ann", allow: true })],
    ["the watched user allowed everyone", (b: Board) => b.send("bob", { type: "allowWatching", userID: "*", allow: true })],
  ])("starts at once when %s", (_name, allow) => {
    const b = board("ann", "bob");
    allow(b);
    expect(b.take("bob")).toEqual([expect.objectContaining({ type: "watchAllowed", allow: true })]);
    b.send("ann", { type: "watch", userID: "bob" });
    expect(b.take("ann")).toEqual([{ type: "watchStarted", watchId: "w1", userID: "bob", role: "watcher" }]);
    expect(b.take("bob").map((m) => m.type)).toEqual(["watchStarted", "watchers"]);
  });

  it("starts at once when the watched login is a device, and asks again once an allowance is withdrawn", () => {
    const b = board("ann");
    b.login("gate", true);
    b.send("ann", { type: "watch", userID: "gate" });
    expect(b.take("ann").map((m) => m.type)).toEqual(["watchStarted"]);
    expect(b.logins.presenceOf("gate")).toMatchObject({ device: true, watchedBy: 1 });
    b.login("bob");
    b.send("bob", { type: "allowWatching", userID: "*", allow: true });
    b.send("bob", { type: "allowWatching", userID: "*", allow: false });
    b.send("ann", { type: "watch", userID: "bob" });
    expect(b.take("ann").map((m) => m.type)).toEqual(["watchRequested"]);
  });

  it("relays descriptions and candidates of a started watch to the other side", () => {
    const b = board("ann", "bob");
    b.send("bob", { type: "allowWatching", userID: "ann", allow: true });
    b.send("ann", { type: "watch", userID: "bob" });
    b.take("ann");
    b.take("bob");
    b.send("bob", { type: "watchDescription", watchId: "w1", sdp: OFFER });
    b.send("ann", { type: "watchCandidate", watchId: "w1", candidate: CANDIDATE });
    expect(b.take("ann")).toEqual([{ type: "watchDescription", watchId: "w1", sdp: OFFER }]);
    expect(b.take("bob")).toEqual([{ type: "watchCandidate", watchId: "w1", candidate: CANDIDATE }]);
  });

  it("lists every watcher of a user, and ends the watch for both sides when either stops it", () => {
    const b = board("ann", "bob", "cat");
    b.send("bob", { type: "allowWatching", userID: "*", allow: true });
    b.send("ann", { type: "watch", userID: "bob" });
    b.send("cat", { type: "watch", userID: "bob" });
    expect(b.take("bob").at(-1)).toEqual({ type: "watchers", watchers: [{ watchId: "w1", userID: "ann", username: "ann" }, { watchId: "w2", userID: "cat", username: "cat" }] });
    expect(b.logins.presenceOf("bob")).toMatchObject({ watchedBy: 2 });
    b.take("ann");
    b.send("bob", { type: "stopWatching", watchId: "w1" });
    expect(b.take("ann")).toEqual([{ type: "watchEnded", watchId: "w1", reason: "stopped", by: "bob" }]);
    expect(b.take("bob")).toEqual([
      { type: "watchEnded", watchId: "w1", reason: "stopped", by: "bob" },
      { type: "watchers", watchers: [{ watchId: "w2", userID: "cat", username: "cat" }] },
    ]);
    expect(b.logins.presenceOf("ann")?.watching).toBeUndefined();
    b.send("cat", { type: "stopWatching", watchId: "w2" });
    expect(b.take("bob").at(-1)).toEqual({ type: "watchers", watchers: [] });
    expect(b.logins.presenceOf("bob")?.watchedBy).toBeUndefined();
  });
});

describe("watch registry: refusals and endings", () => {
  it("refuses the watcher when the watched user denies, stops the request, or does not answer", () => {
    const b = board("ann", "bob");
    b.send("ann", { type: "watch", userID: "bob" });
    b.send("bob", { type: "watchAnswer", watchId: "w1", accept: false });
    expect(b.take("ann").at(-1)).toEqual({ type: "watchRefused", watchId: "w1", userID: "bob", reason: "denied" });
    b.send("ann", { type: "watch", userID: "bob" });
    b.send("bob", { type: "stopWatching", watchId: "w2" });
    expect(b.take("ann").at(-1)).toEqual({ type: "watchRefused", watchId: "w2", userID: "bob", reason: "denied" });
    b.send("ann", { type: "watch", userID: "bob" });
    b.take("bob");
    b.fire("watchring:w3");
    expect(b.take("ann").at(-1)).toEqual({ type: "watchRefused", watchId: "w3", userID: "bob", reason: "timeout" });
    expect(b.take("bob")).toEqual([{ type: "watchEnded", watchId: "w3", reason: "timeout" }]);
    expect(b.watches.stats()).toEqual({ pendingWatches: 0, activeWatches: 0 });
  });

  it("tells the watched side when the watcher withdraws its request", () => {
    const b = board("ann", "bob");
    b.send("ann", { type: "watch", userID: "bob" });
    b.take("bob");
    b.send("ann", { type: "stopWatching", watchId: "w1" });
    expect(b.take("bob")).toEqual([{ type: "watchEnded", watchId: "w1", reason: "stopped", by: "ann" }]);
  });

  it("refuses offline and unknown users, oneself, a second watch of the same user and a full watcher list", () => {
    const b = new Board(1);
    b.login("ann");
    b.login("bob");
    b.login("cat");
    b.send("ann", { type: "watch", userID: "nobody" });
    expect(b.take("ann")).toEqual([{ type: "watchRefused", watchId: "w1", userID: "nobody", reason: "offline" }]);
    expect(b.send("ann", { type: "watch", userID: "ann" })).toMatchObject({ ok: false, code: "self_target" });
    b.send("ann", { type: "watch", userID: "bob" });
    expect(b.send("ann", { type: "watch", userID: "bob" })).toMatchObject({ ok: false, code: "invalid_state" });
    expect(b.send("cat", { type: "watch", userID: "bob" })).toMatchObject({ ok: false, code: "too_many_watchers" });
  });

  it("bounds the users one user watches", () => {
    const b = board("ann");
    for (let index = 0; index < MAX_WATCHES_PER_USER; index += 1) {
      b.login(`u${index}`);
      expect(b.send("ann", { type: "watch", userID: `u${index}` }).ok).toBe(true);
    }
    b.login("last");
    expect(b.send("ann", { type: "watch", userID: "last" })).toMatchObject({ ok: false, code: "too_many_watches" });
  });

  it("refuses messages naming no watch of the sender, relays before the start, and anything before login", () => {
    const b = board("ann", "bob", "cat");
    b.send("ann", { type: "watch", userID: "bob" });
    expect(b.send("cat", { type: "stopWatching", watchId: "w1" })).toMatchObject({ ok: false, code: "not_watching" });
    expect(b.send("ann", { type: "watchAnswer", watchId: "w1", accept: true })).toMatchObject({ ok: false, code: "not_watching" });
    expect(b.send("bob", { type: "watchDescription", watchId: "w1", sdp: OFFER })).toMatchObject({ ok: false, code: "invalid_state" });
    expect(b.send("ghost", { type: "watch", userID: "bob" })).toMatchObject({ ok: false, code: "not_logged_in" });
  });

  it("ends watches and requests of a login that ended, on both sides", () => {
    const b = board("ann", "bob", "cat");
    b.send("bob", { type: "allowWatching", userID: "ann", allow: true });
    b.send("ann", { type: "watch", userID: "bob" });
    b.send("cat", { type: "watch", userID: "bob" });
    b.take("ann");
    b.take("cat");
    b.logout("bob");
    expect(b.take("ann")).toEqual([{ type: "watchEnded", watchId: "w1", reason: "disconnected" }]);
    expect(b.take("cat")).toEqual([{ type: "watchRefused", watchId: "w2", userID: "bob", reason: "offline" }]);
    expect(b.logins.presenceOf("ann")?.watching).toBeUndefined();
    b.login("bob");
    b.send("ann", { type: "watch", userID: "bob" });
    expect(b.take("ann").map((m) => m.type)).toEqual(["watchRequested"]);
  });
});
