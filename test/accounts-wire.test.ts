/**
 * Accounts mode over real sockets (issue 15): `login {userID, password}` and `new_user.account`
 * against an accounts file; a wrong password and an unknown user alike `bad_credentials`; failure
 * windows per account and per address (`too_many_attempts`); the role's grants honoured (a host
 * locks the room, a viewer does not publish); the password in no frame and no log line. A real
 * server on an ephemeral port with a real file; raw WebSocket clients.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { ServerMessage } from "../shared/protocol/index.ts";
import { hashAccountPassword } from "../server/account-passwords.ts";
import { MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS } from "../server/account-verifier.ts";
import { writeAccountsFile, type Accounts } from "../server/accounts.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";
import { TestClient } from "./support/ws-client.ts";

const PASSWORDS = { ada: "correct horse battery", bob: "bob's own secret", vic: "viewer pass", mallory: "mallory-pass" } as const;

let directory: string;
let accountsPath: string;
let server: RunningServer;
/** Servers started by one test (the failure-window tests, whose failures must block only their own server). */
const ownServers: RunningServer[] = [];
const clients: TestClient[] = [];
let roomCounter = 0;

function freshRoom(): string {
  roomCounter += 1;
  return `accounts-${roomCounter}`;
}

async function connect(to: RunningServer = server): Promise<TestClient> {
  const client = await TestClient.connect(to.wsUrl);
  clients.push(client);
  return client;
}

/** Every frame `client` received so far, as the text the server sent. */
function framesOf(client: TestClient): string {
  return client.received.map((message) => JSON.stringify(message)).join("\n");
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "webrtc-room-accounts-"));
  const accounts: Accounts = new Map([
    ["ada", { passwordHash: await hashAccountPassword(PASSWORDS.ada), displayName: "Ada Lovelace", role: "host" as const }],
    ["bob", { passwordHash: await hashAccountPassword(PASSWORDS.bob), displayName: "Bob", avatar: "/avatars/bob.png" }],
    ["vic", { passwordHash: await hashAccountPassword(PASSWORDS.vic), displayName: "Vic", role: "viewer" as const }],
    ["mallory", { passwordHash: await hashAccountPassword(PASSWORDS.mallory), displayName: "Mallory" }],
  ]);
  accountsPath = join(directory, "accounts.json");
  await writeAccountsFile(accountsPath, accounts);
  server = await startAccountsServer();
});

/** A server in accounts mode over the test's accounts file. */
function startAccountsServer(): Promise<RunningServer> {
  return startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], presenceWindowMs: 0, auth: "accounts", accountsFile: accountsPath });
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(ownServers.splice(0).map((own) => own.close()));
});

afterAll(async () => {
  await server?.close();
  await rm(directory, { recursive: true, force: true });
});

describe("login with an account", () => {
  it("logs in with the right password as the account's id, display name and avatar", async () => {
    const client = await connect();
    client.send({ type: "login", userID: "bob", username: "Not Bob", avatar: "/other.png", password: PASSWORDS.bob });
    const response = await client.next("loginResponse");
    expect(response).toMatchObject({ content: "accepted", userID: "bob", username: "Bob", avatar: "/avatars/bob.png" });
  });

  it("refuses a wrong password and an unknown user with the same code, and a login without password with credentials_missing", async () => {
    const wrong = await connect();
    wrong.send({ type: "login", userID: "bob", password: "not it" });
    const unknown = await connect();
    unknown.send({ type: "login", userID: "nobody", password: "whatever" });
    const missing = await connect();
    missing.send({ type: "login", userID: "bob" });
    const [wrongAnswer, unknownAnswer, missingAnswer] = await Promise.all([wrong.next("loginResponse"), unknown.next("loginResponse"), missing.next("loginResponse")]);
    expect(wrongAnswer).toMatchObject({ content: "rejected", code: "bad_credentials" });
    expect(unknownAnswer).toEqual(wrongAnswer);
    expect(missingAnswer).toMatchObject({ content: "rejected", code: "credentials_missing" });
  });

  it("takes the account over from an older connection when the password is right", async () => {
    const first = await connect();
    first.send({ type: "login", userID: "bob", password: PASSWORDS.bob });
    await first.next("loginResponse");
    const second = await connect();
    second.send({ type: "login", userID: "bob", password: PASSWORDS.bob });
    expect(await second.next("loginResponse")).toMatchObject({ content: "accepted", userID: "bob" });
    expect(await first.closed).toBe(4003);
  });
});

describe("joining a room with an account", () => {
  it("joins under the account's display name with its role's grants: a host locks the room, a member may not", async () => {
    const room = freshRoom();
    const host = await connect();
    host.send({ type: "new_user", room, username: "typed", account: { userID: "ada", password: PASSWORDS.ada } });
    const hostJoined = await host.next("joined");
    expect(hostJoined).toMatchObject({ username: "Ada Lovelace", grants: { host: true, publish: true } });
    const member = await connect();
    member.send({ type: "new_user", room, username: "typed", account: { userID: "bob", password: PASSWORDS.bob } });
    const memberJoined = await member.next("joined");
    expect(memberJoined).toMatchObject({ username: "Bob", grants: { host: false, publish: true } });

    member.send({ type: "room_settings", locked: true });
    expect(await member.next("error", (message) => message.refType === "room_settings")).toMatchObject({ code: "not_host" });
    host.send({ type: "room_settings", locked: true });
    expect(await host.next("room_state")).toMatchObject({ locked: true });
    const late = await connect();
    late.send({ type: "new_user", room, username: "typed", account: { userID: "vic", password: PASSWORDS.vic } });
    expect(await late.next("error", (message) => message.refType === "new_user")).toMatchObject({ code: "room_locked" });
  });

  it("handles a message sent right behind the join only once the password is checked and the join done", async () => {
    const host = await connect();
    host.send({ type: "new_user", room: freshRoom(), username: "typed", account: { userID: "ada", password: PASSWORDS.ada } });
    host.send({ type: "room_settings", lobby: true });
    await host.next("joined");
    expect(await host.next("room_state")).toMatchObject({ lobby: true });
    expect(host.received.some((message) => message.type === "error")).toBe(false);
  });

  it("joins a viewer without the publish grant", async () => {
    const client = await connect();
    client.send({ type: "new_user", room: freshRoom(), username: "typed", account: { userID: "vic", password: PASSWORDS.vic } });
    expect((await client.next("joined")).grants).toMatchObject({ publish: false, host: false });
  });

  it("refuses a wrong password, an unknown user (same answer) and a join without account", async () => {
    const room = freshRoom();
    const answers: ServerMessage[] = [];
    for (const extra of [{ account: { userID: "bob", password: "not it" } }, { account: { userID: "nobody", password: "not it" } }, {}]) {
      const client = await connect();
      client.send({ type: "new_user", room, username: "typed", ...extra });
      answers.push(await client.next("error", (message) => message.refType === "new_user"));
    }
    expect(answers[0]).toMatchObject({ code: "bad_credentials" });
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toMatchObject({ code: "credentials_missing" });
  });
});

describe("failure windows", () => {
  it("blocks an account after its wrong passwords, its right password too, with too_many_attempts", async () => {
    const own = await startAccountsServer();
    ownServers.push(own);
    const client = await connect(own);
    for (let attempt = 0; attempt < MAX_FAILURES_PER_ACCOUNT; attempt += 1) {
      client.send({ type: "login", userID: "mallory", password: `guess ${attempt}` });
      expect(await client.next("loginResponse")).toMatchObject({ code: "bad_credentials" });
    }
    client.send({ type: "login", userID: "mallory", password: PASSWORDS.mallory });
    expect(await client.next("loginResponse")).toMatchObject({ content: "rejected", code: "too_many_attempts" });
    client.send({ type: "new_user", room: freshRoom(), username: "typed", account: { userID: "mallory", password: PASSWORDS.mallory } });
    expect(await client.next("error", (message) => message.refType === "new_user")).toMatchObject({ code: "too_many_attempts" });
  });

  it("blocks an address after wrong passwords for many accounts, a right one for another account too", async () => {
    const own = await startAccountsServer();
    ownServers.push(own);
    const client = await connect(own);
    // One unknown id per attempt: no account reaches its own limit, the address does.
    for (let attempt = 0; attempt < MAX_FAILURES_PER_ADDRESS; attempt += 1) {
      client.send({ type: "login", userID: `stranger-${attempt}`, password: "guess" });
      expect(await client.next("loginResponse")).toMatchObject({ code: "bad_credentials" });
    }
    client.send({ type: "login", userID: "bob", password: PASSWORDS.bob });
    expect(await client.next("loginResponse")).toMatchObject({ content: "rejected", code: "too_many_attempts" });
    // The other server counts its own failures: Bob still signs in there from the same address.
    const elsewhere = await connect();
    elsewhere.send({ type: "login", userID: "bob", password: PASSWORDS.bob });
    expect(await elsewhere.next("loginResponse")).toMatchObject({ content: "accepted" });
  });
});

describe("the password stays secret", () => {
  it("is in no frame sent back and in no log line, whether right or wrong", async () => {
    const logged: string[] = [];
    const spies = (["log", "error", "warn", "info", "debug"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" "))),
    );
    try {
      const room = freshRoom();
      const right = await connect();
      right.send({ type: "login", userID: "ada", password: PASSWORDS.ada });
      await right.next("loginResponse");
      right.send({ type: "new_user", room, username: "typed", account: { userID: "ada", password: PASSWORDS.ada } });
      await right.next("joined");
      const wrong = await connect();
      const wrongPassword = "a-wrong-password-to-look-for";
      wrong.send({ type: "login", userID: "ada", password: wrongPassword });
      await wrong.next("loginResponse");
      wrong.send({ type: "new_user", room, username: "typed", account: { userID: "ada", password: wrongPassword } });
      await wrong.next("error");
      const tooLong = "x".repeat(200);
      wrong.send({ type: "login", userID: "ada", password: tooLong });
      await wrong.next("loginResponse");
      await Promise.all([right.sync(), wrong.sync()]);
      const everything = [framesOf(right), framesOf(wrong), ...logged].join("\n");
      for (const secret of [PASSWORDS.ada, wrongPassword, tooLong]) {
        expect(everything).not.toContain(secret);
      }
    } finally {
      for (const spy of spies) {
        spy.mockRestore();
      }
    }
  });
});
