/**
 * Unit tests of the presence fan-out (server/presence.ts) driven by the real login directory and
 * call registry: table-driven windows (flip-back suppression, a login during a window, a leave and
 * rejoin, takeovers, many changes in one frame), the window protocol with the socket layer, the
 * uncoalesced baseline mode, and a seeded random walk checking that every connection's directory,
 * rebuilt the way a client applies the frames, equals the login directory's after every flush.
 */
import { describe, expect, it } from "vitest";
import { CallRegistry } from "../server/calls.ts";
import { combineEffects } from "../server/effects.ts";
import { LoginDirectory } from "../server/logins.ts";
import { PresenceFanout, type PresenceChanges, type PresenceDelivery } from "../server/presence.ts";
import type { CallClientMessage } from "../shared/protocol/call.ts";
import type { LoginMessage, PresenceServerMessage, PresenceStatus, PresenceUser } from "../shared/protocol/presence.ts";

const OFFER = "v=0\r\n(offer)";
const ANSWER = "v=0\r\n(answer)";

/** One step: a client message, a dropped connection, or a registry timer running out. */
type Step = { from: string; send: LoginMessage | CallClientMessage } | { drop: string } | { fire: string };

const login = (from: string, userID: string, username?: string): Step => ({ from, send: username === undefined ? { type: "login", userID } : { type: "login", userID, username } });
const call = (from: string, calleeID: string): Step => ({ from, send: { type: "call", calleeID, sdpOffer: OFFER } });
const accept = (from: string, callerID: string): Step => ({ from, send: { type: "incomingCallResponse", callerID, callResponse: "accepted", sdpAnswer: ANSWER } });
const stopCall = (from: string): Step => ({ from, send: { type: "stopCall" } });
const drop = (connection: string): Step => ({ drop: connection });

/**
 * Stands in for the socket layer, as the server does it: a login goes to the login directory (a
 * replaced login's call ends through the call registry), the rest to the call registry, and a drop
 * ends the login then its call. Call deliveries are dropped (calls.test.ts covers them), presence
 * changes go through the fan-out, whose window the test closes with {@link flush}. Every presence
 * frame is recorded per connection, and replayed into a per-connection directory the way a client
 * applies it.
 */
class Lobby {
  readonly logins = new LoginDirectory();
  readonly registry = new CallRegistry(this.logins);
  readonly fanout: PresenceFanout;
  /** Presence frames per connection, in order. */
  readonly frames = new Map<string, PresenceServerMessage[]>();
  /** Each connection's directory as a client rebuilds it from its frames. */
  readonly seen = new Map<string, Map<string, PresenceUser>>();
  /** How many times a step asked the socket layer to start a window. */
  windowsStarted = 0;

  constructor(coalesce = true) {
    this.fanout = new PresenceFanout({ coalesce });
  }

  /** The directory changes of `step`, or the code it was refused with. */
  attempt(step: Step): { ok: true; presence: PresenceChanges } | { ok: false; code: string } {
    if ("fire" in step) {
      return this.registry.timerFired(step.fire);
    }
    if ("drop" in step) {
      const loggedOut = this.logins.logout(step.drop);
      return { ok: true, ...combineEffects(this.registry.loginEnded(step.drop, "disconnected"), loggedOut) };
    }
    if (step.send.type !== "login") {
      return this.registry.handle(step.from, step.send);
    }
    // A takeover here stands for one that proved it is the same user (logins.test.ts tests the proofs).
    const login = this.logins.login(step.from, step.send, "token");
    if (!login.ok || login.replaced === undefined) {
      return login;
    }
    return { ok: true, ...combineEffects(this.registry.loginEnded(login.replaced, "replaced"), login) };
  }

  step(step: Step): void {
    const result = this.attempt(step);
    if (!result.ok) {
      throw new Error(`step refused: ${result.code}`);
    }
    const effects = this.fanout.apply(result.presence);
    if (effects.startWindow) {
      expect(this.fanout.windowOpen).toBe(true);
      this.windowsStarted += 1;
    }
    this.#record(effects.deliveries);
  }

  steps(steps: Step[]): this {
    for (const step of steps) {
      this.step(step);
    }
    return this;
  }

  flush(): this {
    this.#record(this.fanout.flush());
    expect(this.fanout.windowOpen).toBe(false);
    return this;
  }

  clear(): this {
    this.frames.clear();
    this.windowsStarted = 0;
    return this;
  }

  received(connection: string): PresenceServerMessage[] {
    return this.frames.get(connection) ?? [];
  }

  /** Asserts that every logged-in connection now shows exactly the login directory, in order. */
  expectConsistent(): void {
    const truth = this.logins.directory();
    expect(this.fanout.directory()).toEqual(truth);
    for (const connection of this.logins.connectionIds()) {
      expect([...(this.seen.get(connection)?.values() ?? [])], `directory of ${connection}`).toEqual(truth);
    }
  }

  #record(deliveries: PresenceDelivery[]): void {
    for (const { to, message } of deliveries) {
      this.frames.set(to, [...this.received(to), message]);
      applyAsClient(this.seen, to, message);
    }
  }
}

/** What a client does with a presence frame (client/core/phone-session.ts). */
function applyAsClient(seen: Map<string, Map<string, PresenceUser>>, connection: string, message: PresenceServerMessage): void {
  let directory = seen.get(connection);
  if (message.type === "presence" || !directory) {
    directory = new Map();
    seen.set(connection, directory);
  }
  switch (message.type) {
    case "presence":
      for (const user of message.users) {
        directory.set(user.userID, user);
      }
      return;
    case "presenceUpdate":
      directory.set(message.user.userID, message.user);
      return;
    case "presenceLeft":
      directory.delete(message.userID);
      return;
    case "presenceChanges":
      for (const userID of message.left) {
        directory.delete(userID);
      }
      for (const user of message.users) {
        directory.set(user.userID, user);
      }
      return;
    default:
      return;
  }
}

const entry = (userID: string, status: PresenceStatus = "online", username = userID): PresenceUser => ({ userID, username, status });

/** alice on `a`, bob on `b`, carol on `c`, each told about the others (window flushed). */
function everyoneOnline(coalesce = true): Lobby {
  return new Lobby(coalesce).steps([login("a", "alice"), login("b", "bob"), login("c", "carol")]).flush().clear();
}

interface Window {
  spec: string;
  /** Steps before the window, flushed, their frames forgotten. */
  given?: Step[];
  /** Steps within the one window under test. */
  when: Step[];
  /** Every presence frame each connection receives during the window and at its flush; omitted means none. */
  expect: Record<string, PresenceServerMessage[]>;
}

const WINDOWS: Window[] = [
  {
    spec: "a call and its cancel within one window send nothing to anyone (both entries flipped back)",
    when: [call("a", "bob"), stopCall("a")],
    expect: {},
  },
  {
    spec: "many call and stopCall pairs within one window still send nothing",
    when: Array.from({ length: 20 }, (_, index) => (index % 2 === 0 ? call("a", "bob") : stopCall("a"))),
    expect: {},
  },
  {
    spec: "a ring sends both parties' change as one presenceChanges per connection, the parties included",
    when: [call("a", "bob")],
    expect: Object.fromEntries(["a", "b", "c"].map((to) => [to, [{ type: "presenceChanges", users: [entry("alice", "connecting"), entry("bob", "connecting")], left: [] }]])),
  },
  {
    spec: "a window with exactly one change sends the existing presenceUpdate",
    when: [login("d", "dave")],
    expect: {
      ...Object.fromEntries(["a", "b", "c"].map((to) => [to, [{ type: "presenceUpdate", user: entry("dave") }]])),
      d: [{ type: "presence", users: [entry("alice"), entry("bob"), entry("carol"), entry("dave")] }],
    },
  },
  {
    spec: "a window with exactly one departure sends the existing presenceLeft",
    when: [drop("c")],
    expect: { a: [{ type: "presenceLeft", userID: "carol" }], b: [{ type: "presenceLeft", userID: "carol" }] },
  },
  {
    spec: "a ring accepted within the window skips connecting: everyone learns in_call once",
    when: [call("a", "bob"), accept("b", "alice")],
    expect: Object.fromEntries(["a", "b", "c"].map((to) => [to, [{ type: "presenceChanges", users: [entry("alice", "in_call"), entry("bob", "in_call")], left: [] }]])),
  },
  {
    spec: "many changes of many users reach each connection as ONE frame carrying all of them",
    when: [call("a", "bob"), accept("b", "alice"), drop("c"), login("d", "dave"), stopCall("a")],
    expect: {
      a: [{ type: "presenceChanges", users: [entry("alice", "ending"), entry("bob", "ending"), entry("dave")], left: ["carol"] }],
      b: [{ type: "presenceChanges", users: [entry("alice", "ending"), entry("bob", "ending"), entry("dave")], left: ["carol"] }],
      d: [
        { type: "presence", users: [entry("alice", "in_call"), entry("bob", "in_call"), entry("dave")] },
        { type: "presenceChanges", users: [entry("alice", "ending"), entry("bob", "ending")], left: [] },
      ],
    },
  },
  {
    spec: "a login during a window gets the snapshot at once, then only what changed after it (here: the flip back)",
    when: [call("a", "bob"), login("d", "dave"), stopCall("a")],
    expect: {
      a: [{ type: "presenceUpdate", user: entry("dave") }],
      b: [{ type: "presenceUpdate", user: entry("dave") }],
      c: [{ type: "presenceUpdate", user: entry("dave") }],
      d: [
        { type: "presence", users: [entry("alice", "connecting"), entry("bob", "connecting"), entry("carol"), entry("dave")] },
        { type: "presenceChanges", users: [entry("alice"), entry("bob")], left: [] },
      ],
    },
  },
  {
    spec: "a login during a window whose snapshot already shows every change gets nothing more",
    when: [call("a", "bob"), login("d", "dave")],
    expect: {
      a: [{ type: "presenceChanges", users: [entry("alice", "connecting"), entry("bob", "connecting"), entry("dave")], left: [] }],
      b: [{ type: "presenceChanges", users: [entry("alice", "connecting"), entry("bob", "connecting"), entry("dave")], left: [] }],
      c: [{ type: "presenceChanges", users: [entry("alice", "connecting"), entry("bob", "connecting"), entry("dave")], left: [] }],
      d: [{ type: "presence", users: [entry("alice", "connecting"), entry("bob", "connecting"), entry("carol"), entry("dave")] }],
    },
  },
  {
    spec: "a user who comes online and goes offline within a window is never announced",
    when: [login("d", "dave"), drop("d")],
    expect: { d: [{ type: "presence", users: [entry("alice"), entry("bob"), entry("carol"), entry("dave")] }] },
  },
  {
    spec: "a user who logs out and back in within a window is sent as left, then appended at the end (login order)",
    when: [drop("a"), login("a2", "alice")],
    expect: {
      b: [{ type: "presenceChanges", users: [entry("alice")], left: ["alice"] }],
      c: [{ type: "presenceChanges", users: [entry("alice")], left: ["alice"] }],
      a2: [{ type: "presence", users: [entry("bob"), entry("carol"), entry("alice")] }],
    },
  },
  {
    spec: "a user who logs back in during a window and leaves again is sent only as left",
    when: [drop("a"), login("a2", "alice"), drop("a2")],
    expect: { b: [{ type: "presenceLeft", userID: "alice" }], c: [{ type: "presenceLeft", userID: "alice" }], a2: [{ type: "presence", users: [entry("bob"), entry("carol"), entry("alice")] }] },
  },
  {
    spec: "a login during a window that saw a user leave and come back before it gets nothing more for that user",
    when: [drop("a"), login("a2", "alice"), login("d", "dave")],
    expect: {
      b: [{ type: "presenceChanges", users: [entry("alice"), entry("dave")], left: ["alice"] }],
      c: [{ type: "presenceChanges", users: [entry("alice"), entry("dave")], left: ["alice"] }],
      a2: [{ type: "presence", users: [entry("bob"), entry("carol"), entry("alice")] }, { type: "presenceUpdate", user: entry("dave") }],
      d: [{ type: "presence", users: [entry("bob"), entry("carol"), entry("alice"), entry("dave")] }],
    },
  },
  {
    spec: "a login during a window whose user then leaves and comes back gets left then the new entry",
    when: [login("d", "dave"), drop("a"), login("a2", "alice", "Alice again")],
    expect: {
      b: [{ type: "presenceChanges", users: [entry("dave"), entry("alice", "online", "Alice again")], left: ["alice"] }],
      c: [{ type: "presenceChanges", users: [entry("dave"), entry("alice", "online", "Alice again")], left: ["alice"] }],
      d: [{ type: "presence", users: [entry("alice"), entry("bob"), entry("carol"), entry("dave")] }, { type: "presenceChanges", users: [entry("alice", "online", "Alice again")], left: ["alice"] }],
      a2: [{ type: "presence", users: [entry("bob"), entry("carol"), entry("dave"), entry("alice", "online", "Alice again")] }],
    },
  },
  {
    spec: "a takeover (4003) updates the entry in place; the replaced connection gets no more presence",
    when: [call("a", "bob"), login("b2", "bob", "Bobby")],
    expect: {
      a: [{ type: "presenceUpdate", user: entry("bob", "online", "Bobby") }],
      c: [{ type: "presenceUpdate", user: entry("bob", "online", "Bobby") }],
      b2: [{ type: "presence", users: [entry("alice"), entry("bob", "online", "Bobby"), entry("carol")] }],
    },
  },
  {
    spec: "a takeover with the same name and status sends the others nothing",
    when: [login("b2", "bob")],
    expect: { b2: [{ type: "presence", users: [entry("alice"), entry("bob"), entry("carol")] }] },
  },
  {
    spec: "a takeover of a user in a call: the other party's ending and the new entry, in one frame",
    given: [call("a", "bob"), accept("b", "alice")],
    when: [login("b2", "bob")],
    expect: {
      a: [{ type: "presenceChanges", users: [entry("alice", "ending"), entry("bob")], left: [] }],
      c: [{ type: "presenceChanges", users: [entry("alice", "ending"), entry("bob")], left: [] }],
      b2: [{ type: "presence", users: [entry("alice", "ending"), entry("bob"), entry("carol")] }],
    },
  },
  {
    spec: "a connection that logs in and is replaced within one window gets only its snapshot",
    when: [login("d", "dave"), login("d2", "dave", "Dave")],
    expect: {
      a: [{ type: "presenceUpdate", user: entry("dave", "online", "Dave") }],
      b: [{ type: "presenceUpdate", user: entry("dave", "online", "Dave") }],
      c: [{ type: "presenceUpdate", user: entry("dave", "online", "Dave") }],
      d: [{ type: "presence", users: [entry("alice"), entry("bob"), entry("carol"), entry("dave")] }],
      d2: [{ type: "presence", users: [entry("alice"), entry("bob"), entry("carol"), entry("dave", "online", "Dave")] }],
    },
  },
  {
    spec: "a connection that closes during a window gets nothing at the flush",
    when: [call("a", "bob"), drop("c")],
    expect: {
      a: [{ type: "presenceChanges", users: [entry("alice", "connecting"), entry("bob", "connecting")], left: ["carol"] }],
      b: [{ type: "presenceChanges", users: [entry("alice", "connecting"), entry("bob", "connecting")], left: ["carol"] }],
    },
  },
  {
    spec: "the ending timer brings both parties back online in one frame",
    given: [call("a", "bob"), accept("b", "alice"), stopCall("a")],
    when: [{ fire: "ending:c1" }],
    expect: Object.fromEntries(["a", "b", "c"].map((to) => [to, [{ type: "presenceChanges", users: [entry("alice"), entry("bob")], left: [] }]])),
  },
];

describe("PresenceFanout windows", () => {
  it.each(WINDOWS)("$spec", ({ given = [], when, expect: expected }) => {
    const lobby = everyoneOnline().steps(given).flush().clear();
    lobby.steps(when).flush();
    const recipients = new Set([...lobby.frames.keys(), ...Object.keys(expected)]);
    for (const to of recipients) {
      expect(lobby.received(to), `frames of ${to}`).toEqual(expected[to] ?? []);
      // At most one frame per window, besides a login's snapshot.
      expect(lobby.received(to).filter((message) => message.type !== "presence").length).toBeLessThanOrEqual(1);
    }
    lobby.expectConsistent();
  });
});

describe("PresenceFanout and the socket layer's window timer", () => {
  it("asks for one window at the first change and none for later changes in the same window", () => {
    const lobby = everyoneOnline();
    lobby.steps([call("a", "bob"), stopCall("a"), call("a", "carol")]);
    expect(lobby.windowsStarted).toBe(1);
    lobby.flush().clear().steps([stopCall("a")]);
    expect(lobby.windowsStarted).toBe(1);
  });

  it("asks for no window for a step that changes no entry", () => {
    const lobby = everyoneOnline().steps([call("a", "bob"), accept("b", "alice")]).flush().clear();
    lobby.steps([{ from: "a", send: { type: "onIceCandidate", candidate: { candidate: "candidate:1" } } }, drop("x")]);
    expect(lobby.windowsStarted).toBe(0);
    expect(lobby.fanout.windowOpen).toBe(false);
  });

  it("sends a login's snapshot right away, before the window closes, and nothing more at the flush", () => {
    const lobby = new Lobby();
    lobby.step(login("a", "alice"));
    expect(lobby.received("a")).toEqual([{ type: "presence", users: [entry("alice")] }]);
    expect(lobby.windowsStarted).toBe(1);
    lobby.flush();
    expect(lobby.received("a")).toHaveLength(1);
  });

  it("sends nothing for a flush with no window open", () => {
    const lobby = everyoneOnline();
    expect(lobby.fanout.flush()).toEqual([]);
  });

  it("shares one message object among every connection told the same thing (serialized once by the socket layer)", () => {
    const lobby = everyoneOnline();
    lobby.steps([call("a", "bob")]);
    const deliveries = lobby.fanout.flush();
    expect(deliveries.map((delivery) => delivery.to)).toEqual(["a", "b", "c"]);
    expect(new Set(deliveries.map((delivery) => delivery.message)).size).toBe(1);
  });
});

describe("PresenceFanout without coalescing (the baseline bench:presence measures against)", () => {
  it("sends every changed entry as its own presenceUpdate to every logged-in connection at once, never opening a window", () => {
    const lobby = everyoneOnline(false);
    lobby.steps([call("a", "bob"), stopCall("a")]);
    expect(lobby.windowsStarted).toBe(0);
    const updates = [entry("alice", "connecting"), entry("bob", "connecting"), entry("alice"), entry("bob")].map((user) => ({ type: "presenceUpdate", user }));
    for (const to of ["a", "b", "c"]) {
      expect(lobby.received(to)).toEqual(updates);
    }
    lobby.expectConsistent();
  });

  it("sends a new login the snapshot and everyone else its presenceUpdate; a departure is presenceLeft", () => {
    const lobby = everyoneOnline(false);
    lobby.steps([login("d", "dave"), drop("c")]);
    expect(lobby.received("a")).toEqual([{ type: "presenceUpdate", user: entry("dave") }, { type: "presenceLeft", userID: "carol" }]);
    expect(lobby.received("d")).toEqual([
      { type: "presence", users: [entry("alice"), entry("bob"), entry("carol"), entry("dave")] },
      { type: "presenceLeft", userID: "carol" },
    ]);
    lobby.expectConsistent();
  });
});

/** A small deterministic generator (mulberry32), so that a failure replays. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe("PresenceFanout consistency under random churn", () => {
  it.each([1, 2, 3, 4, 5])("every connection's directory equals the login directory's after every flush (seed %i)", (seed) => {
    const next = random(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
    const lobby = new Lobby();
    const users = ["u1", "u2", "u3", "u4", "u5", "u6"];
    let connectionNumber = 0;
    for (let window = 0; window < 200; window += 1) {
      const steps = 1 + Math.floor(next() * 6);
      for (let index = 0; index < steps; index += 1) {
        const connections = lobby.logins.connectionIds();
        const from = connections.length > 0 ? pick(connections) : undefined;
        const roll = next();
        let step: Step | undefined;
        if (roll < 0.25 || from === undefined) {
          connectionNumber += 1;
          step = login(`k${connectionNumber}`, pick(users), next() < 0.3 ? "renamed" : undefined);
        } else if (roll < 0.4) {
          step = drop(from);
        } else if (roll < 0.65) {
          step = call(from, pick(users));
        } else if (roll < 0.8) {
          const callerID = pick(users);
          step = accept(from, callerID);
        } else if (roll < 0.95) {
          step = stopCall(from);
        } else {
          step = { fire: `${pick(["ring:", "ending:"])}c${1 + Math.floor(next() * 20)}` };
        }
        const result = lobby.attempt(step);
        if (result.ok) {
          const effects = lobby.fanout.apply(result.presence);
          for (const { to, message } of effects.deliveries) {
            applyAsClient(lobby.seen, to, message);
          }
        }
      }
      for (const { to, message } of lobby.fanout.flush()) {
        applyAsClient(lobby.seen, to, message);
      }
      lobby.expectConsistent();
    }
  });
});
