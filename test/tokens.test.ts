/**
 * Token mode over real sockets: the real uWebSockets.js server on an ephemeral port, raw WebSocket
 * clients, tokens signed with `jose` as an application's backend would sign them. Every refused
 * token has its own code and leaves everything as it was; open mode ignores tokens.
 */
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLOSE_CODES, type ErrorCode } from "../shared/protocol/index.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import { TOKEN_AUDIENCE, mintToken } from "../server/tokens.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";
import { TestClient } from "./support/ws-client.ts";

const SECRET = "a-test-secret-of-more-than-32-bytes!";
const OTHER_SECRET = "another-secret-of-more-than-32-bytes";
const ISSUER = "https://app.example.test";
const SECRET_BYTES = new TextEncoder().encode(SECRET);

/** HS256 with an issuer; EdDSA keyed by a JWK; EdDSA keyed by a PEM; open mode. */
let hsServer: RunningServer;
let edServer: RunningServer;
let edPemServer: RunningServer;
let openServer: RunningServer;
let edPrivateKey: CryptoKey;
const openClients: TestClient[] = [];
let counter = 0;

/** A name no other test uses. */
function fresh(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

async function connect(server: RunningServer): Promise<TestClient> {
  const client = await TestClient.connect(server.wsUrl);
  openClients.push(client);
  return client;
}

/** Seconds since the epoch, now. */
function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The claims of a valid join token for `room` on {@link hsServer}, overridable. */
function joinClaims(room: string, overrides: JWTPayload = {}): JWTPayload {
  return { kind: "join", sub: "user-ada", room, name: "Ada", aud: TOKEN_AUDIENCE, iss: ISSUER, exp: nowSeconds() + 600, grants: { publish: true }, ...overrides };
}

/** The claims of a valid login token for `sub`, overridable. */
function loginClaims(sub: string, overrides: JWTPayload = {}): JWTPayload {
  return { kind: "login", sub, name: "Token Name", avatar: "/avatars/token.png", aud: TOKEN_AUDIENCE, iss: ISSUER, exp: nowSeconds() + 600, grants: { call: true }, ...overrides };
}

/** Signs `claims` as given (no claim added), with HS256 and {@link SECRET} unless told otherwise. */
async function sign(claims: JWTPayload, options: { alg?: string; key?: CryptoKey | Uint8Array } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? "HS256" }).sign(options.key ?? SECRET_BYTES);
}

/** `header.payload.` with `alg: none`: the unsecured JWT of RFC 7519 §6. */
function unsecured(claims: JWTPayload): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.`;
}

/**
 * Changes the first character of the signature, which carries six whole bits of it. (The last
 * character of a base64url signature also holds padding bits: changing only those leaves the
 * signature intact, which made an earlier version of this helper pass 1 token in 16 unchanged.)
 */
function alterSignature(token: string): string {
  const signatureStart = token.lastIndexOf(".") + 1;
  const replacement = token[signatureStart] === "A" ? "B" : "A";
  return `${token.slice(0, signatureStart)}${replacement}${token.slice(signatureStart + 1)}`;
}

/** Asserts that none of `clients` has received anything it has not consumed yet. */
async function expectNothingMore(...clients: TestClient[]): Promise<void> {
  for (const client of clients) {
    await client.sync();
    expect(client.pending()).toEqual([]);
  }
}

/** A participant alone in a fresh room, joined with a valid token, to watch that nothing changes. */
async function observedRoom(server: RunningServer, tokenFor: (room: string) => Promise<string>): Promise<{ room: string; observer: TestClient }> {
  const room = fresh("room");
  const observer = await connect(server);
  observer.send({ type: "new_user", room, username: "ignored", token: await tokenFor(room) });
  await observer.next("joined");
  await observer.next("connection_list");
  return { room, observer };
}

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  edPrivateKey = privateKey;
  const common = { ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], presenceWindowMs: 0, resumeGraceMs: 0 };
  [hsServer, edServer, edPemServer, openServer] = await Promise.all([
    startServer({ ...common, auth: "token", authSecret: SECRET, authIssuer: ISSUER }),
    startServer({ ...common, auth: "token", authPublicKey: JSON.stringify(await exportJWK(publicKey)) }),
    startServer({ ...common, auth: "token", authPublicKey: await exportSPKI(publicKey) }),
    startServer({ ...common, auth: "open" }),
  ]);
});

afterEach(async () => {
  await Promise.all(openClients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  await Promise.all([hsServer, edServer, edPemServer, openServer].map((server) => server?.close()));
});

describe("token mode joins (happy path)", () => {
  it("a valid HS256 join token joins its room under the token's name, whatever new_user.username says", async () => {
    const { room, observer } = await observedRoom(hsServer, (name) => sign(joinClaims(name)));
    const joiner = await connect(hsServer);
    joiner.send({ type: "new_user", room, username: "Mallory", token: await sign(joinClaims(room, { sub: "user-bob", name: "Bob" })) });
    const joined = await joiner.next("joined");
    expect(joined).toMatchObject({ room, username: "Bob" });
    const announced = await observer.next("connection_list", (message) => message.newUserId === joined.id);
    expect(announced.list.map((participant) => participant.username).sort()).toEqual(["Ada", "Bob"]);
  });

  it("a valid EdDSA join token joins on a server keyed by an Ed25519 JWK, and on one keyed by a PEM", async () => {
    for (const server of [edServer, edPemServer]) {
      const room = fresh("room");
      const client = await connect(server);
      client.send({ type: "new_user", room, username: "x", token: await sign(joinClaims(room, { iss: undefined }), { alg: "EdDSA", key: edPrivateKey }) });
      expect(await client.next("joined")).toMatchObject({ room, username: "Ada" });
    }
  });

  it("`webrtc-room token`'s minting joins with the same secret", async () => {
    const room = fresh("room");
    const client = await connect(hsServer);
    const token = await mintToken({ kind: "join", userId: "cli-user", room, name: "Cli", grants: { publish: true } }, SECRET, 60, { issuer: ISSUER });
    client.send({ type: "new_user", room, username: "x", token });
    expect(await client.next("joined")).toMatchObject({ room, username: "Cli" });
  });
});

describe("token mode joins (refusals: each has its code, nothing changes for anyone)", () => {
  // The server is named, not held: the servers start in beforeAll, after this table is built.
  const cases: Array<[string, ErrorCode, (room: string) => Promise<string | undefined>, ("hs" | "ed")?]> = [
    ["no token", "token_missing", async () => undefined],
    ["a wrong audience", "token_wrong_audience", (room) => sign(joinClaims(room, { aud: "another-service" }))],
    ["no audience", "token_wrong_audience", (room) => sign(joinClaims(room, { aud: undefined }))],
    ["a wrong issuer", "token_wrong_issuer", (room) => sign(joinClaims(room, { iss: "https://evil.example.test" }))],
    ["another room", "token_wrong_room", (room) => sign(joinClaims(`${room}-other`))],
    ["an expired token", "token_expired", (room) => sign(joinClaims(room, { exp: nowSeconds() - 60 }))],
    ["a token not valid yet", "token_not_yet_valid", (room) => sign(joinClaims(room, { nbf: nowSeconds() + 60 }))],
    ["alg none", "token_algorithm", async (room) => unsecured(joinClaims(room))],
    ["HS512 where the key allows HS256 only", "token_algorithm", (room) => sign(joinClaims(room), { alg: "HS512" })],
    ["EdDSA where the server holds a secret", "token_algorithm", (room) => sign(joinClaims(room), { alg: "EdDSA", key: edPrivateKey })],
    ["HS256 where the server holds an Ed25519 key", "token_algorithm", (room) => sign(joinClaims(room, { iss: undefined })), "ed"],
    ["an altered signature", "token_invalid", async (room) => alterSignature(await sign(joinClaims(room)))],
    ["a stripped signature", "token_invalid", async (room) => (await sign(joinClaims(room))).replace(/[^.]+$/, "")],
    ["another secret", "token_invalid", (room) => sign(joinClaims(room), { key: new TextEncoder().encode(OTHER_SECRET) })],
    ["no exp", "token_invalid", (room) => sign(joinClaims(room, { exp: undefined }))],
    ["no name", "token_invalid", (room) => sign(joinClaims(room, { name: undefined }))],
    ["a login token", "token_wrong_kind", (room) => sign(joinClaims(room, { kind: "login" }))],
    ["not a JWS at all", "token_invalid", async () => "not-a-token"],
  ];

  it.each(cases)("a join with %s is refused with %s", async (_label, code, tokenFor, serverName = "hs") => {
    const server = serverName === "hs" ? hsServer : edServer;
    const { room, observer } = await observedRoom(server, (name) =>
      server === hsServer ? sign(joinClaims(name)) : sign(joinClaims(name, { iss: undefined }), { alg: "EdDSA", key: edPrivateKey }),
    );
    const intruder = await connect(server);
    const token = await tokenFor(room);
    intruder.send({ type: "new_user", room, username: "Mallory", ...(token === undefined ? {} : { token }) });
    expect(await intruder.next("error")).toMatchObject({ code, refType: "new_user" });
    // Not in the room: relaying is refused, and the observer heard of nothing.
    intruder.send({ type: "close_connection" });
    expect(await intruder.next("error")).toMatchObject({ code: "not_in_room" });
    await expectNothingMore(observer, intruder);
  });
});

describe("token mode logins", () => {
  it("the login's userID, name and avatar are the token's, whatever the message says", async () => {
    const sub = fresh("token-user");
    const client = await connect(hsServer);
    client.send({ type: "login", userID: "alice", username: "Alice", avatar: "/avatars/alice.png", token: await sign(loginClaims(sub)) });
    expect(await client.next("loginResponse")).toMatchObject({ content: "accepted", userID: sub, username: "Token Name", avatar: "/avatars/token.png" });
    const presence = await client.next("presence");
    expect(presence.users.map((user) => user.userID)).toContain(sub);
    expect(presence.users.map((user) => user.userID)).not.toContain("alice");
  });

  it("a login token without name logs in under its sub", async () => {
    const sub = fresh("token-user");
    const client = await connect(hsServer);
    client.send({ type: "login", userID: "alice", token: await sign(loginClaims(sub, { name: undefined, avatar: undefined })) });
    expect(await client.next("loginResponse")).toMatchObject({ content: "accepted", userID: sub, username: sub });
  });

  it.each([
    ["no token", "token_missing", async () => undefined],
    ["a join token", "token_wrong_kind", () => sign(joinClaims("some-room"))],
    ["an expired token", "token_expired", () => sign(loginClaims("victim", { exp: nowSeconds() - 60 }))],
    ["alg none", "token_algorithm", async () => unsecured(loginClaims("victim"))],
    ["an altered signature", "token_invalid", async () => alterSignature(await sign(loginClaims("victim")))],
  ] as Array<[string, ErrorCode, () => Promise<string | undefined>]>)("a login with %s is refused with %s; the online user keeps its login", async (_label, code, tokenFor) => {
    const victim = await connect(hsServer);
    const victimId = fresh("victim");
    victim.send({ type: "login", userID: victimId, token: await sign(loginClaims(victimId)) });
    await victim.next("loginResponse");
    await victim.next("presence");
    const intruder = await connect(hsServer);
    const token = await tokenFor();
    intruder.send({ type: "login", userID: victimId, ...(token === undefined ? {} : { token }) });
    expect(await intruder.next("loginResponse")).toMatchObject({ content: "rejected", code });
    await expectNothingMore(victim, intruder);
    expect(victim.closeCode).toBeUndefined();
  });
});

describe("token mode: the token is the proof of identity", () => {
  it("a second login with a valid token for the same sub takes the user over without a reclaim key (newer login wins)", async () => {
    const sub = fresh("token-twice");
    const older = await connect(hsServer);
    older.send({ type: "login", userID: sub, token: await sign(loginClaims(sub)) });
    expect(await older.next("loginResponse")).toMatchObject({ content: "accepted", userID: sub });
    const newer = await connect(hsServer);
    newer.send({ type: "login", userID: "anything", token: await sign(loginClaims(sub, { name: "Newer" })) });
    expect(await newer.next("loginResponse")).toMatchObject({ content: "accepted", userID: sub, username: "Newer" });
    expect(await older.next("loggedOut")).toEqual({ type: "loggedOut", reason: "replaced" });
    expect(await older.closed).toBe(CLOSE_CODES.replaced);
  });
});

describe("asynchronous verification keeps each connection's order", () => {
  it("messages sent right behind a join wait for it: the ping behind new_user is answered after joined", async () => {
    const room = fresh("room");
    const client = await connect(hsServer);
    client.send({ type: "new_user", room, username: "x", token: await sign(joinClaims(room)) });
    client.send({ type: "ping", t: 1 });
    client.send({ type: "close_connection" });
    await client.next("pong");
    const types = client.received.map((message) => message.type);
    expect(types.indexOf("joined")).toBeGreaterThanOrEqual(0);
    expect(types.indexOf("joined")).toBeLessThan(types.indexOf("pong"));
    // close_connection, queued behind the join, found the room joined: no not_in_room.
    await client.sync();
    expect(client.received.filter((message) => message.type === "error")).toEqual([]);
  });

  it("a connection that closes while its token is verified never joins", async () => {
    const { room, observer } = await observedRoom(hsServer, (name) => sign(joinClaims(name)));
    const leaver = await connect(hsServer);
    leaver.send({ type: "new_user", room, username: "x", token: await sign(joinClaims(room, { name: "Leaver" })) });
    leaver.socket.terminate();
    const late = await connect(hsServer);
    late.send({ type: "new_user", room, username: "x", token: await sign(joinClaims(room, { name: "Late" })) });
    const joined = await late.next("joined");
    const list = await late.next("connection_list", (message) => message.newUserId === joined.id);
    expect(list.list.map((participant) => participant.username).sort()).toEqual(["Ada", "Late"]);
    await observer.next("connection_list", (message) => message.newUserId === joined.id);
    await expectNothingMore(observer);
  });
});

describe("open mode ignores tokens", () => {
  it("joins under the message's name with or without a token, even a garbage one", async () => {
    const room = fresh("room");
    const withToken = await connect(openServer);
    withToken.send({ type: "new_user", room, username: "Ada", token: "garbage" });
    expect(await withToken.next("joined")).toMatchObject({ room, username: "Ada" });
    const without = await connect(openServer);
    expect(await without.join(room, "Bob")).toMatchObject({ room, username: "Bob" });
  });

  it("a valid login token is no proof of identity: a login naming a userID that is online is refused user_online", async () => {
    const userID = fresh("open-online");
    const owner = await connect(openServer);
    owner.send({ type: "login", userID });
    await owner.next("loginResponse");
    await owner.next("presence");
    const intruder = await connect(openServer);
    intruder.send({ type: "login", userID, token: await sign(loginClaims(userID)) });
    expect(await intruder.next("loginResponse")).toMatchObject({ content: "rejected", code: "user_online" });
    await expectNothingMore(owner);
    expect(owner.closeCode).toBeUndefined();
  });

  it("logs in under the message's userID even with a valid login token for another user", async () => {
    const userID = fresh("open-user");
    const client = await connect(openServer);
    client.send({ type: "login", userID, username: "Open", token: await sign(loginClaims("someone-else")) });
    expect(await client.next("loginResponse")).toMatchObject({ content: "accepted", userID, username: "Open" });
  });
});
