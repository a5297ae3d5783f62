/**
 * Unit tests of the pure login directory (server/logins.ts): every login and logout transition,
 * table-driven (a first login, a takeover by a newer login that proves it is the same user, a
 * logout, a login again after a logout, the refusals: `user_online` for a stranger), each with its messages, closes, the directory changes it reports and the directory
 * after it; then the directory's accessors, `refusalMessage` and the login schema. Calls ended by a
 * takeover or a logout are in calls.test.ts; the fan-out's coalescing across steps in
 * presence.test.ts.
 *
 * Every login goes through the real valibot schema first, as the socket layer decodes it.
 */
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import type { CloseCommand } from "../server/effects.ts";
import { LoginDirectory, refusalMessage, type LoginEffects, type LoginProof, type LoginResult } from "../server/logins.ts";
import { PresenceFanout, type PresenceChanges } from "../server/presence.ts";
import type { ErrorCode } from "../shared/protocol/errors.ts";
import { LoginSchema, type PresenceServerMessage, type PresenceStatus, type PresenceUser } from "../shared/protocol/presence.ts";

const ALICE_AVATAR = "https://example.com/alice.png";
const ALICE: PresenceUser = { userID: "alice", username: "Alice", avatar: ALICE_AVATAR, status: "online" };
const BOB: PresenceUser = { userID: "bob", username: "Bob", status: "online" };
const CAROL: PresenceUser = { userID: "carol", username: "carol", status: "online" };

/** Any reclaim key: 32 nanoid characters, new for each accepted login. */
const RECLAIM_KEY: string = expect.stringMatching(/^[\w-]{32}$/);

/** How a test login proves it may take an online user id over. */
interface LoginOptions {
  /** Defaults to `reclaim_key`, as in open mode. */
  proof?: LoginProof;
  /** The connection whose reclaim key (from its `loginResponse accepted`) the login carries. */
  withKeyOf?: string;
}

/**
 * Stands in for the socket layer: applies each result the way the effects applier does
 * (deliveries into per-connection inboxes, presence changes through a real {@link PresenceFanout}
 * whose window closes right after each step, closes recorded). It drives the real directory.
 */
class Lobby {
  readonly logins = new LoginDirectory();
  readonly presence = new PresenceFanout();
  readonly inbox = new Map<string, PresenceServerMessage[]>();
  readonly closes: CloseCommand[] = [];
  /** connection id → the reclaim key its accepted login received (kept across {@link clear}). */
  readonly reclaimKeys = new Map<string, string>();

  login(connectionId: string, raw: Record<string, unknown>, options: LoginOptions = {}): LoginResult {
    const reclaimKey = options.withKeyOf === undefined ? undefined : this.reclaimKeys.get(options.withKeyOf);
    const message = v.parse(LoginSchema, { type: "login", ...raw, ...(reclaimKey !== undefined ? { reclaimKey } : {}) });
    const result = this.logins.login(connectionId, message, options.proof ?? "reclaim_key");
    if (result.ok) {
      this.#apply(result);
    }
    return result;
  }

  logout(connectionId: string): LoginEffects {
    const result = this.logins.logout(connectionId);
    this.#apply(result);
    return result;
  }

  /** Everything `connectionId` received, in order. */
  received(connectionId: string): PresenceServerMessage[] {
    return this.inbox.get(connectionId) ?? [];
  }

  /** Forgets what was delivered so far, to look at one step alone. */
  clear(): void {
    this.inbox.clear();
    this.closes.length = 0;
  }

  #apply(effects: LoginEffects): void {
    const fanned = this.presence.apply(effects.presence);
    for (const { to, message } of [...effects.deliveries, ...fanned.deliveries, ...this.presence.flush()]) {
      this.inbox.set(to, [...this.received(to), message]);
      if (message.type === "loginResponse" && message.content === "accepted") {
        this.reclaimKeys.set(to, message.reclaimKey);
      }
    }
    this.closes.push(...effects.closes);
  }
}

/** alice on connection `a` (with name and avatar), bob on `b` (with name), carol on `c` (id only). */
function everyoneOnline(): Lobby {
  const lobby = new Lobby();
  lobby.login("a", { userID: "alice", username: "Alice", avatar: ALICE_AVATAR });
  lobby.login("b", { userID: "bob", username: "Bob" });
  lobby.login("c", { userID: "carol" });
  return lobby;
}

/** The situations the transition table starts from. */
const GIVEN = {
  "nobody is logged in": () => new Lobby(),
  "alice, bob and carol are logged in": everyoneOnline,
  "bob's login was taken over on b2": () => {
    const lobby = everyoneOnline();
    lobby.login("b2", { userID: "bob", username: "Bobby" }, { withKeyOf: "b" });
    return lobby;
  },
  "alice logged out": () => {
    const lobby = everyoneOnline();
    lobby.logout("a");
    return lobby;
  },
} satisfies Record<string, () => Lobby>;

type Given = keyof typeof GIVEN;

/** One step: a `login` (its fields, `type` added, and how it proves who it is) or the end of a connection's login. */
type Action = { from: string; login: Record<string, unknown>; options?: LoginOptions } | { logout: string };

interface Transition {
  spec: string;
  given: Given;
  when: Action;
  /** For a refused login: its code; nothing may change. */
  error?: ErrorCode;
  /** Every message (presence included) each connection receives; connections not named receive none. */
  received?: Record<string, PresenceServerMessage[]>;
  /** For a login: the connection it took the user id from. */
  replaced?: string;
  closes?: CloseCommand[];
  /** The directory changes the step reports. */
  presence?: PresenceChanges;
  /** The directory after the step, in login order. */
  directory?: PresenceUser[];
}

const CONNECTIONS = ["a", "b", "b2", "c", "d", "x"];

const HAPPY_PATH: Transition[] = [
  {
    spec: "login of the first user answers loginResponse accepted, then a directory of that user alone",
    given: "nobody is logged in",
    when: { from: "a", login: { userID: "alice", username: "Alice", avatar: ALICE_AVATAR } },
    received: {
      a: [
        { type: "loginResponse", content: "accepted", userID: "alice", username: "Alice", reclaimKey: RECLAIM_KEY, avatar: ALICE_AVATAR },
        { type: "presence", users: [ALICE] },
      ],
    },
    presence: { subscribed: "a", unsubscribed: [], left: [], updated: [ALICE] },
    directory: [ALICE],
  },
  {
    spec: "login without a username takes the user id as its name and tells everyone else with presenceUpdate",
    given: "alice, bob and carol are logged in",
    when: { from: "d", login: { userID: "dave" } },
    received: {
      a: [{ type: "presenceUpdate", user: { userID: "dave", username: "dave", status: "online" } }],
      b: [{ type: "presenceUpdate", user: { userID: "dave", username: "dave", status: "online" } }],
      c: [{ type: "presenceUpdate", user: { userID: "dave", username: "dave", status: "online" } }],
      d: [
        { type: "loginResponse", content: "accepted", userID: "dave", username: "dave", reclaimKey: RECLAIM_KEY },
        { type: "presence", users: [ALICE, BOB, CAROL, { userID: "dave", username: "dave", status: "online" }] },
      ],
    },
    presence: { subscribed: "d", unsubscribed: [], left: [], updated: [{ userID: "dave", username: "dave", status: "online" }] },
    directory: [ALICE, BOB, CAROL, { userID: "dave", username: "dave", status: "online" }],
  },
  {
    spec: "login with a user id held by another connection and that login's reclaim key takes it over: loggedOut and a 4003 close for the older one, the entry updated in place",
    given: "alice, bob and carol are logged in",
    when: { from: "b2", login: { userID: "bob", username: "Bobby" }, options: { withKeyOf: "b" } },
    received: {
      a: [{ type: "presenceUpdate", user: { userID: "bob", username: "Bobby", status: "online" } }],
      b: [{ type: "loggedOut", reason: "replaced" }],
      b2: [
        { type: "loginResponse", content: "accepted", userID: "bob", username: "Bobby", reclaimKey: RECLAIM_KEY },
        { type: "presence", users: [ALICE, { userID: "bob", username: "Bobby", status: "online" }, CAROL] },
      ],
      c: [{ type: "presenceUpdate", user: { userID: "bob", username: "Bobby", status: "online" } }],
    },
    replaced: "b",
    closes: [{ connectionId: "b", code: 4003, reason: "replaced" }],
    presence: { subscribed: "b2", unsubscribed: ["b"], left: [], updated: [{ userID: "bob", username: "Bobby", status: "online" }] },
    directory: [ALICE, { userID: "bob", username: "Bobby", status: "online" }, CAROL],
  },
  {
    spec: "login with a user id held by another connection and a verified token (token mode) takes it over without a reclaim key",
    given: "alice, bob and carol are logged in",
    when: { from: "b2", login: { userID: "bob", username: "Bobby" }, options: { proof: "token" } },
    received: {
      a: [{ type: "presenceUpdate", user: { userID: "bob", username: "Bobby", status: "online" } }],
      b: [{ type: "loggedOut", reason: "replaced" }],
      b2: [
        { type: "loginResponse", content: "accepted", userID: "bob", username: "Bobby", reclaimKey: RECLAIM_KEY },
        { type: "presence", users: [ALICE, { userID: "bob", username: "Bobby", status: "online" }, CAROL] },
      ],
      c: [{ type: "presenceUpdate", user: { userID: "bob", username: "Bobby", status: "online" } }],
    },
    replaced: "b",
    closes: [{ connectionId: "b", code: 4003, reason: "replaced" }],
    presence: { subscribed: "b2", unsubscribed: ["b"], left: [], updated: [{ userID: "bob", username: "Bobby", status: "online" }] },
    directory: [ALICE, { userID: "bob", username: "Bobby", status: "online" }, CAROL],
  },
  {
    spec: "logout tells everyone else presenceLeft and takes the connection out of the audience",
    given: "alice, bob and carol are logged in",
    when: { logout: "a" },
    received: { b: [{ type: "presenceLeft", userID: "alice" }], c: [{ type: "presenceLeft", userID: "alice" }] },
    presence: { unsubscribed: ["a"], left: ["alice"], updated: [] },
    directory: [BOB, CAROL],
  },
  {
    spec: "logout of a connection whose login was taken over changes nothing",
    given: "bob's login was taken over on b2",
    when: { logout: "b" },
    presence: { unsubscribed: [], left: [], updated: [] },
    directory: [ALICE, { userID: "bob", username: "Bobby", status: "online" }, CAROL],
  },
  {
    spec: "logout of a connection that never logged in changes nothing",
    given: "alice, bob and carol are logged in",
    when: { logout: "x" },
    presence: { unsubscribed: [], left: [], updated: [] },
    directory: [ALICE, BOB, CAROL],
  },
  {
    spec: "login again with the user id of a logged-out user lists it again at the end",
    given: "alice logged out",
    when: { from: "a2", login: { userID: "alice" } },
    received: {
      b: [{ type: "presenceUpdate", user: { userID: "alice", username: "alice", status: "online" } }],
      c: [{ type: "presenceUpdate", user: { userID: "alice", username: "alice", status: "online" } }],
      a2: [
        { type: "loginResponse", content: "accepted", userID: "alice", username: "alice", reclaimKey: RECLAIM_KEY },
        { type: "presence", users: [BOB, CAROL, { userID: "alice", username: "alice", status: "online" }] },
      ],
    },
    presence: { subscribed: "a2", unsubscribed: [], left: [], updated: [{ userID: "alice", username: "alice", status: "online" }] },
    directory: [BOB, CAROL, { userID: "alice", username: "alice", status: "online" }],
  },
];

const REFUSALS: Transition[] = [
  {
    spec: "login on a connection already logged in is refused with already_logged_in",
    given: "alice, bob and carol are logged in",
    when: { from: "a", login: { userID: "alice2" } },
    error: "already_logged_in",
  },
  {
    spec: "login on a connection already logged in is refused even with its own user id",
    given: "alice, bob and carol are logged in",
    when: { from: "b", login: { userID: "bob" } },
    error: "already_logged_in",
  },
  {
    spec: "login on the newer connection of a takeover is refused with already_logged_in",
    given: "bob's login was taken over on b2",
    when: { from: "b2", login: { userID: "carol" } },
    error: "already_logged_in",
  },
  {
    spec: "login with a user id that is online and no reclaim key is refused with user_online (open mode)",
    given: "alice, bob and carol are logged in",
    when: { from: "x", login: { userID: "bob", username: "Mallory" } },
    error: "user_online",
  },
  {
    spec: "login with a user id that is online and a wrong reclaim key is refused with user_online",
    given: "alice, bob and carol are logged in",
    when: { from: "x", login: { userID: "bob", reclaimKey: "x".repeat(32) } },
    error: "user_online",
  },
  {
    spec: "login with a user id that is online and another user's reclaim key is refused with user_online",
    given: "alice, bob and carol are logged in",
    when: { from: "x", login: { userID: "bob" }, options: { withKeyOf: "a" } },
    error: "user_online",
  },
  {
    spec: "login with the reclaim key of a login that was taken over since is refused with user_online (each login gets a new key)",
    given: "bob's login was taken over on b2",
    when: { from: "x", login: { userID: "bob" }, options: { withKeyOf: "b" } },
    error: "user_online",
  },
];

function checkTransition(row: Transition): void {
  const lobby = GIVEN[row.given]();
  const directoryBefore = lobby.logins.directory();
  lobby.clear();
  const result = "logout" in row.when ? lobby.logout(row.when.logout) : lobby.login(row.when.from, row.when.login, row.when.options);
  if (row.error) {
    expect(result).toMatchObject({ ok: false, code: row.error });
    expect(lobby.logins.directory()).toEqual(directoryBefore);
    expect(lobby.inbox.size).toBe(0);
    expect(lobby.closes).toEqual([]);
    return;
  }
  expect("ok" in result ? result.ok : true).toBe(true);
  for (const connection of [...CONNECTIONS, ...Object.keys(row.received ?? {})]) {
    expect(lobby.received(connection), `received by ${connection}`).toEqual(row.received?.[connection] ?? []);
  }
  if ("replaced" in result) {
    expect(result.replaced).toBe(row.replaced);
  }
  expect(lobby.closes).toEqual(row.closes ?? []);
  expect("presence" in result && result.presence).toEqual(row.presence);
  expect(lobby.logins.directory()).toEqual(row.directory);
  expect(lobby.presence.directory()).toEqual(row.directory);
}

describe("LoginDirectory transitions (happy path)", () => {
  it.each(HAPPY_PATH)("$spec", checkTransition);
});

describe("LoginDirectory refusals (failure cases): nothing changes", () => {
  it.each(REFUSALS)("$spec", checkTransition);
});

describe("LoginDirectory presence", () => {
  it("answers login with loginResponse accepted, then the whole directory including the new user", () => {
    const lobby = everyoneOnline();
    expect(lobby.received("c")).toEqual([
      { type: "loginResponse", content: "accepted", userID: "carol", username: "carol", reclaimKey: RECLAIM_KEY },
      {
        type: "presence",
        users: [
          { userID: "alice", username: "Alice", avatar: ALICE_AVATAR, status: "online" },
          { userID: "bob", username: "Bob", status: "online" },
          { userID: "carol", username: "carol", status: "online" },
        ],
      },
    ]);
    expect(lobby.received("a")[0]).toEqual({ type: "loginResponse", content: "accepted", userID: "alice", username: "Alice", reclaimKey: RECLAIM_KEY, avatar: ALICE_AVATAR });
  });

  it("loginOf states each connection's login as loginResponse did, and nothing for a connection not logged in", () => {
    const lobby = everyoneOnline();
    expect(lobby.logins.loginOf("a")).toEqual({ userID: "alice", username: "Alice", avatar: ALICE_AVATAR });
    expect(lobby.logins.loginOf("c")).toEqual({ userID: "carol", username: "carol" });
    expect(lobby.logins.loginOf("x")).toBeUndefined();
    lobby.logout("c");
    expect(lobby.logins.loginOf("c")).toBeUndefined();
  });

  it("pushes presenceUpdate for a new user to every other logged-in connection only", () => {
    const lobby = everyoneOnline();
    lobby.clear();
    lobby.login("d", { userID: "dave" });
    const update = { type: "presenceUpdate", user: { userID: "dave", username: "dave", status: "online" } };
    expect(lobby.received("a")).toEqual([update]);
    expect(lobby.received("b")).toEqual([update]);
    expect(lobby.received("c")).toEqual([update]);
    expect(lobby.received("x")).toEqual([]);
    expect(lobby.received("d").map((message) => message.type)).toEqual(["loginResponse", "presence"]);
  });

  it("lets a user log in again with the same id after its connection closed", () => {
    const lobby = everyoneOnline();
    lobby.logout("a");
    lobby.clear();
    expect(lobby.login("a2", { userID: "alice" }).ok).toBe(true);
    expect(lobby.received("b")).toEqual([{ type: "presenceUpdate", user: { userID: "alice", username: "alice", status: "online" } }]);
  });
});

describe("LoginDirectory login takeover: the newer connection with the user's reclaim key wins", () => {
  it("tells the older connection loggedOut and asks to close it with 4003 replaced", () => {
    const lobby = everyoneOnline();
    lobby.clear();
    lobby.login("b2", { userID: "bob", username: "Bobby" }, { withKeyOf: "b" });
    expect(lobby.received("b")).toEqual([{ type: "loggedOut", reason: "replaced" }]);
    expect(lobby.closes).toEqual([{ connectionId: "b", code: 4003, reason: "replaced" }]);
    expect(lobby.received("b2").map((message) => message.type)).toEqual(["loginResponse", "presence"]);
    expect(lobby.logins.userIdOf("b")).toBeUndefined();
    expect(lobby.presence.directory()).toEqual(lobby.logins.directory());
    expect(lobby.logins.userIdOf("b2")).toBe("bob");
  });

  it("reports the older connection leaving the presence audience and the newer one joining it, the entry updated in place", () => {
    const lobby = everyoneOnline();
    const result = lobby.login("b2", { userID: "bob", username: "Bobby" }, { withKeyOf: "b" });
    expect(result.ok && result.presence).toEqual({
      subscribed: "b2",
      unsubscribed: ["b"],
      left: [],
      updated: [{ userID: "bob", username: "Bobby", status: "online" }],
    });
  });

  it("shows others a presenceUpdate in place, never presenceLeft", () => {
    const lobby = everyoneOnline();
    lobby.clear();
    lobby.login("b2", { userID: "bob", username: "Bobby" }, { withKeyOf: "b" });
    expect(lobby.received("a")).toEqual([{ type: "presenceUpdate", user: { userID: "bob", username: "Bobby", status: "online" } }]);
    expect(lobby.logins.directory().map((user) => user.userID)).toEqual(["alice", "bob", "carol"]);
  });

  it("gives the newer login a new reclaim key, so the older one's key no longer takes anything over", () => {
    const lobby = everyoneOnline();
    lobby.login("b2", { userID: "bob" }, { withKeyOf: "b" });
    expect(lobby.reclaimKeys.get("b2")).not.toBe(lobby.reclaimKeys.get("b"));
    expect(lobby.login("b3", { userID: "bob" }, { withKeyOf: "b2" })).toMatchObject({ ok: true, replaced: "b2" });
  });

  it("gives every login a key of its own", () => {
    const lobby = everyoneOnline();
    expect(new Set(lobby.reclaimKeys.values()).size).toBe(3);
  });

  it("starts the newer login online whatever the older one's status was", () => {
    const lobby = everyoneOnline();
    lobby.logins.setStatus("b", "in_call");
    lobby.login("b2", { userID: "bob" }, { withKeyOf: "b" });
    expect(lobby.logins.statusOf("bob")).toBe("online");
  });
});

describe("LoginDirectory statuses and lookups", () => {
  it.each([
    { spec: "setStatus changes a logged-in connection's entry and reports it", connection: "b", status: "connecting", changed: true, bob: "connecting" },
    { spec: "setStatus to the status it has reports no change", connection: "b", status: "online", changed: false, bob: "online" },
    { spec: "setStatus of a connection not logged in changes nothing", connection: "x", status: "in_call", changed: false, bob: "online" },
  ] as { spec: string; connection: string; status: PresenceStatus; changed: boolean; bob: PresenceStatus }[])("$spec", ({ connection, status, changed, bob }) => {
    const lobby = everyoneOnline();
    expect(lobby.logins.setStatus(connection, status)).toBe(changed);
    expect(lobby.logins.statusOf("bob")).toBe(bob);
    expect(lobby.logins.presenceOf("b")).toEqual({ ...BOB, status: bob });
  });

  it("looks users up both ways and counts them, a takeover moving the user id to the newer connection", () => {
    const lobby = everyoneOnline();
    expect(lobby.logins.connectionOf("bob")).toBe("b");
    expect(lobby.logins.connectionOf("dave")).toBeUndefined();
    expect(lobby.logins.count()).toBe(3);
    lobby.login("b2", { userID: "bob" }, { withKeyOf: "b" });
    expect(lobby.logins.connectionOf("bob")).toBe("b2");
    expect(lobby.logins.presenceOf("b")).toBeUndefined();
    expect(lobby.logins.connectionIds()).toEqual(["a", "c", "b2"]);
    expect(lobby.logins.count()).toBe(3);
    lobby.logout("a");
    expect(lobby.logins.count()).toBe(2);
    expect(lobby.logins.statusOf("alice")).toBeUndefined();
  });
});

describe("refusalMessage", () => {
  it("answers a refused login with seed 000's loginResponse rejected, carrying the code", () => {
    expect(refusalMessage("login", "already_logged_in", "already logged in")).toEqual({
      type: "loginResponse",
      content: "rejected",
      error: "already logged in",
      code: "already_logged_in",
    });
  });

  it("answers any other refusal with error and its refType", () => {
    expect(refusalMessage("call", "not_logged_in", "login first")).toEqual({ type: "error", code: "not_logged_in", message: "login first", refType: "call" });
    expect(refusalMessage(undefined, "bad_message", "not JSON")).toEqual({ type: "error", code: "bad_message", message: "not JSON" });
  });
});

describe("login schema", () => {
  const accepted: [string, Record<string, unknown>, unknown][] = [
    ["login trims the user id and keeps name and avatar", { type: "login", userID: "  alice ", username: "Alice", avatar: "/a.png" }, { type: "login", userID: "alice", username: "Alice", avatar: "/a.png" }],
    ["login accepts any printable user id (seed 002 logs in with a typed name)", { type: "login", userID: "王 小明" }, { type: "login", userID: "王 小明" }],
    ["login keeps a reclaim key", { type: "login", userID: "a", reclaimKey: "k".repeat(32) }, { type: "login", userID: "a", reclaimKey: "k".repeat(32) }],
  ];
  it.each(accepted)("%s", (_spec, input, output) => {
    expect(v.parse(LoginSchema, input)).toEqual(output);
  });

  const refused: [string, Record<string, unknown>][] = [
    ["login refuses an empty user id", { type: "login", userID: "   " }],
    ["login refuses a user id with control characters", { type: "login", userID: "a\nb" }],
    ["login refuses a user id longer than 64 characters", { type: "login", userID: "x".repeat(65) }],
    ["login refuses a javascript: avatar", { type: "login", userID: "a", avatar: "javascript:alert(1)" }],
    ["login refuses a data: avatar", { type: "login", userID: "a", avatar: "data:image/png;base64,AAAA" }],
    ["login refuses an empty reclaim key", { type: "login", userID: "a", reclaimKey: "" }],
    ["login refuses a reclaim key longer than 64 characters", { type: "login", userID: "a", reclaimKey: "k".repeat(65) }],
    ["login refuses a reclaim key that is not a string", { type: "login", userID: "a", reclaimKey: 42 }],
  ];
  it.each(refused)("%s", (_spec, input) => {
    expect(v.safeParse(LoginSchema, input).success).toBe(false);
  });
});
