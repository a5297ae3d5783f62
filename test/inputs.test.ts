/**
 * Input hardening, end to end: the real server on an ephemeral port and raw WebSocket clients send
 * names with hidden characters, non-finite numbers, avatars from elsewhere and oversized ICE fields.
 * Each is refused with its stable code, only to its sender, and changes nothing anybody else sees.
 * The character rules and the avatar policy are unit-tested in `protocol-text.test.ts` and
 * `avatars.test.ts`; the per-user candidate bound in `calls.test.ts`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MAX_PENDING_CANDIDATES, MAX_PENDING_CANDIDATE_CHARS } from "../server/calls.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import {
  ICE_CANDIDATE_MAX_LENGTH,
  SDP_MID_MAX_LENGTH,
  SDP_MLINE_INDEX_MAX,
  USERNAME_FRAGMENT_MAX_LENGTH,
  type ErrorCode,
  type ServerMessage,
} from "../shared/protocol/index.ts";
import { ANSWER_SDP, CANDIDATE_1, OFFER_SDP, connectCall, logIn, ring, type LoggedIn } from "./support/call-client.ts";
import { TestClient } from "./support/ws-client.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";

/** The only host besides the server's own that `https:` avatars may name in these tests. */
const ALLOWED_AVATAR_HOST = "allowed.example.test";

const CANDIDATE = { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 };

let server: RunningServer;
const openClients: TestClient[] = [];
let counter = 0;

/** A room name or user id no other test uses (rooms and the lobby are server-wide). */
function fresh(name: string): string {
  counter += 1;
  return `${name}-${counter}`;
}

async function connect(): Promise<TestClient> {
  const client = await TestClient.connect(server.wsUrl);
  openClients.push(client);
  return client;
}

/** Connects and logs in a user with a fresh id derived from `name`. */
async function user(name: string, extras: { username?: string; avatar?: string } = {}): Promise<LoggedIn> {
  return logIn(await connect(), fresh(name), extras);
}

/** Consumes everything `clients` have received so far. */
async function drain(...clients: TestClient[]): Promise<void> {
  for (const client of clients) {
    await client.sync();
    for (const message of client.pending()) {
      await client.next(message.type);
    }
  }
}

/** Asserts that none of `clients` has received anything it has not consumed yet. */
async function expectNothingMore(...clients: TestClient[]): Promise<void> {
  for (const client of clients) {
    await client.sync();
    expect(client.pending()).toEqual([]);
  }
}

/** The refusal a client received: `error`, or `loginResponse rejected` for a login. */
function refusalCode(message: ServerMessage | undefined): ErrorCode | undefined {
  if (message?.type === "error") {
    return message.code;
  }
  if (message?.type === "loginResponse" && message.content === "rejected") {
    return message.code;
  }
  return undefined;
}

beforeAll(async () => {
  // Presence within one event-loop turn: the presence of a setup step (a login, a call) is out before
  // the round trip that ends it, never in the middle of the refusal the test looks at.
  server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], avatarHosts: [ALLOWED_AVATAR_HOST], resumeGraceMs: 0, ringTimeoutMs: 20_000, presenceWindowMs: 0 });
});

afterEach(async () => {
  await Promise.all(openClients.splice(0).map((client) => client.close()));
  await expect.poll(() => server.connectionCount()).toBe(0);
});

afterAll(async () => {
  await server.close();
});

/** What the sender has done before it sends the bad frame. */
type SenderState = "fresh" | "joined" | "in_call";

interface RefusalCase {
  name: string;
  state: SenderState;
  /** The frame: an object sent as JSON, or raw text (for numbers JSON.stringify cannot write). */
  frame: (ids: { peer: string }) => object | string;
  code: ErrorCode;
}

const joinAs = (username: unknown): object => ({ type: "new_user", room: "inputs-join", username });
const loginAs = (fields: Record<string, unknown>): object => ({ type: "login", userID: fresh("login"), ...fields });
const candidateTo = (peer: string, ice: Record<string, unknown>): object => ({ type: "new_candidate", targetId: peer, ice: { ...CANDIDATE, ...ice } });
const callCandidate = (candidate: Record<string, unknown>): object => ({ type: "onIceCandidate", candidate: { ...CANDIDATE, ...candidate } });

const BAD_NAMES: Array<[string, string]> = [
  ["a C1 control character (U+009B, CSI)", "Ada\u009b[31m"],
  ["a C0 control character (NUL)", "Ada\u0000"],
  ["DEL", "Ada\u007f"],
  ["a lone high surrogate", "\uD800"],
  ["a lone low surrogate between letters", "a\uDC00b"],
  ["a right-to-left override", "\u202Egnp.exe"],
  ["a bidi isolate", "Ada\u2066x\u2069"],
  ["a right-to-left mark", "Ada\u200F"],
  ["only a zero-width space", "\u200B"],
  ["only invisible characters (ZWSP, ZWJ, word joiner, BOM, soft hyphen, U+180E)", "\u200B\u200D\u2060\uFEFF\u00AD\u180E"],
  ["only a Hangul filler", "\u3164"],
  ["only a variation selector", "\uFE0F"],
  ["only braille blanks and spaces", "\u2800 \u2800"],
  ["a line separator", "Ada\u2028Lovelace"],
  ["a visible name hiding a bidi override behind a zero-width space", "Ada\u200B\u202E"],
];

const cases: RefusalCase[] = [
  ...BAD_NAMES.map(([name, value]): RefusalCase => ({ name: `new_user.username with ${name}`, state: "fresh", frame: () => joinAs(value), code: "bad_message" })),
  ...BAD_NAMES.map(([name, value]): RefusalCase => ({ name: `login.userID with ${name}`, state: "fresh", frame: () => ({ type: "login", userID: value }), code: "bad_message" })),
  ...BAD_NAMES.slice(0, 6).map(([name, value]): RefusalCase => ({ name: `login.username with ${name}`, state: "fresh", frame: () => loginAs({ username: value }), code: "bad_message" })),

  { name: "ping t: 1e999 (Infinity once parsed)", state: "fresh", frame: () => '{"type":"ping","t":1e999}', code: "bad_message" },
  { name: "ping t: -1e999", state: "fresh", frame: () => '{"type":"ping","t":-1e999}', code: "bad_message" },
  { name: "new_user.protocolVersion: 1e999", state: "fresh", frame: () => '{"type":"new_user","room":"inputs-join","username":"x","protocolVersion":1e999}', code: "bad_message" },
  { name: "new_user.protocolVersion: 1e300", state: "fresh", frame: () => ({ ...joinAs("x"), protocolVersion: 1e300 }), code: "bad_message" },
  { name: "new_user.protocolVersion: -1", state: "fresh", frame: () => ({ ...joinAs("x"), protocolVersion: -1 }), code: "bad_message" },
  { name: "new_candidate sdpMLineIndex: 1e999", state: "joined", frame: ({ peer }) => `{"type":"new_candidate","targetId":"${peer}","ice":{"candidate":"candidate:1 1 udp 1 127.0.0.1 1 typ host","sdpMLineIndex":1e999}}`, code: "bad_message" },
  { name: "new_candidate sdpMLineIndex: 1e300", state: "joined", frame: ({ peer }) => candidateTo(peer, { sdpMLineIndex: 1e300 }), code: "bad_message" },
  { name: `new_candidate sdpMLineIndex above ${SDP_MLINE_INDEX_MAX}`, state: "joined", frame: ({ peer }) => candidateTo(peer, { sdpMLineIndex: SDP_MLINE_INDEX_MAX + 1 }), code: "bad_message" },

  { name: `new_candidate with a candidate line over ${ICE_CANDIDATE_MAX_LENGTH} characters`, state: "joined", frame: ({ peer }) => candidateTo(peer, { candidate: `candidate:1 1 udp 1 127.0.0.1 1 typ host ${"x".repeat(ICE_CANDIDATE_MAX_LENGTH)}` }), code: "bad_message" },
  { name: `new_candidate with an sdpMid over ${SDP_MID_MAX_LENGTH} characters`, state: "joined", frame: ({ peer }) => candidateTo(peer, { sdpMid: "m".repeat(SDP_MID_MAX_LENGTH + 1) }), code: "bad_message" },
  { name: `new_candidate with a usernameFragment over ${USERNAME_FRAGMENT_MAX_LENGTH} characters`, state: "joined", frame: ({ peer }) => candidateTo(peer, { usernameFragment: "u".repeat(USERNAME_FRAGMENT_MAX_LENGTH + 1) }), code: "bad_message" },
  { name: "onIceCandidate with a 60 000-character candidate line", state: "in_call", frame: () => callCandidate({ candidate: "x".repeat(60_000) }), code: "bad_message" },
  { name: `onIceCandidate with a usernameFragment over ${USERNAME_FRAGMENT_MAX_LENGTH} characters`, state: "in_call", frame: () => callCandidate({ usernameFragment: "u".repeat(USERNAME_FRAGMENT_MAX_LENGTH + 1) }), code: "bad_message" },
  { name: "onIceCandidate sdpMLineIndex: 1e999", state: "in_call", frame: () => '{"type":"onIceCandidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 1 typ host","sdpMLineIndex":1e999}}', code: "bad_message" },

  { name: "a protocol-relative avatar (//evil/x.png)", state: "fresh", frame: () => loginAs({ avatar: "//evil.example.test/x.png" }), code: "bad_message" },
  { name: "an avatar path that browsers read as another host (/\\evil/x.png)", state: "fresh", frame: () => loginAs({ avatar: "/\\evil.example.test/x.png" }), code: "bad_message" },
  { name: "an http: avatar on the allowed host", state: "fresh", frame: () => loginAs({ avatar: `http://${ALLOWED_AVATAR_HOST}/x.png` }), code: "bad_message" },
  { name: "a javascript: avatar", state: "fresh", frame: () => loginAs({ avatar: "javascript:alert(1)" }), code: "bad_message" },
  { name: "a data: avatar", state: "fresh", frame: () => loginAs({ avatar: "data:image/png;base64,AAAA" }), code: "bad_message" },
  { name: "an avatar URL with credentials", state: "fresh", frame: () => loginAs({ avatar: `https://${ALLOWED_AVATAR_HOST}@evil.example.test/x.png` }), code: "bad_message" },
  { name: "an https: avatar on a host that is not allowed", state: "fresh", frame: () => loginAs({ avatar: "https://evil.example.test/x.png" }), code: "avatar_not_allowed" },
  { name: "an https: avatar on the allowed host but another port", state: "fresh", frame: () => loginAs({ avatar: `https://${ALLOWED_AVATAR_HOST}:8443/x.png` }), code: "avatar_not_allowed" },
  { name: "an https: avatar on a subdomain of the allowed host", state: "fresh", frame: () => loginAs({ avatar: `https://img.${ALLOWED_AVATAR_HOST}/x.png` }), code: "avatar_not_allowed" },
];

describe("refused input (failure cases)", () => {
  it.each(cases)("refuses $name with $code, only to its sender, and nobody else sees anything", async ({ state, frame, code }) => {
    const room = fresh("room");
    const peer = await connect();
    const peerId = (await peer.join(room, "peer")).id;
    const observer = await user("observer");
    const sender = await connect();
    let partner: LoggedIn | undefined;
    if (state === "joined") {
      await sender.join(room, "sender");
    } else if (state === "in_call") {
      const self = await logIn(sender, fresh("caller"));
      partner = await user("partner");
      await connectCall(self, partner);
    }
    await drain(peer, observer.client, sender, ...(partner ? [partner.client] : []));

    sender.send(frame({ peer: peerId }));
    await sender.sync();
    const replies = sender.pending();
    expect(replies).toHaveLength(1);
    expect(refusalCode(replies[0])).toBe(code);
    expect(sender.closeCode).toBeUndefined();
    await expectNothingMore(peer, observer.client, ...(partner ? [partner.client] : []));
  });

  it("covers every bad name in new_user and login, and at least forty cases in all", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it("leaves a refused login free to log in again, and a refused join free to join", async () => {
    const client = await connect();
    client.send({ type: "login", userID: "\u202Eevil" });
    expect(refusalCode(await client.next("loginResponse"))).toBe("bad_message");
    await logIn(client, fresh("retry"));
    client.send(joinAs("\u200B"));
    expect(refusalCode(await client.next("error"))).toBe("bad_message");
    expect((await client.join(fresh("room"), "Ada")).username).toBe("Ada");
  });
});

describe("accepted input (happy path)", () => {
  it.each([
    ["an emoji ZWJ sequence", "👨‍👩‍👧"],
    ["a flag built with a variation selector and ZWJ", "🏳️‍🌈"],
    ["Persian with a zero-width non-joiner", "می‌خواهم"],
    ["CJK with a space", "王 小明"],
    ["Latin with diacritics and an apostrophe", "Zoë O'Brien"],
    ["a name padded with invisible-but-trimmed spaces", "\u3000Ada\u3000"],
  ])("new_user and login accept %s", async (_name, value) => {
    const client = await connect();
    const joined = await client.join(fresh("room"), value);
    expect(joined.username).toBe(value.trim());
    const logged = await logIn(client, value);
    expect(logged.userID).toBe(value.trim());
  });

  it("echoes a large but finite ping t", async () => {
    const client = await connect();
    client.send({ type: "ping", t: 1e308 });
    expect(await client.next("pong")).toEqual({ type: "pong", t: 1e308 });
  });

  it("relays a candidate whose every field is at its cap", async () => {
    const room = fresh("room");
    const a = await connect();
    const b = await connect();
    await a.join(room, "a");
    const bId = (await b.join(room, "b")).id;
    await a.next("connection_list", (message) => message.newUserId === bId);
    const ice = {
      candidate: "candidate:1 1 udp 1 127.0.0.1 1 typ host ".padEnd(ICE_CANDIDATE_MAX_LENGTH, "x"),
      sdpMid: "m".repeat(SDP_MID_MAX_LENGTH),
      sdpMLineIndex: SDP_MLINE_INDEX_MAX,
      usernameFragment: "u".repeat(USERNAME_FRAGMENT_MAX_LENGTH),
    };
    expect(ice.candidate).toHaveLength(ICE_CANDIDATE_MAX_LENGTH);
    a.send({ type: "new_candidate", targetId: bId, ice });
    expect((await b.next("new_candidate")).ice).toEqual(ice);
  });

  it.each([
    ["a same-origin path", () => "/img/x.png"],
    ["an https: URL on an allowed host", () => `https://${ALLOWED_AVATAR_HOST}/x.png`],
    ["an https: URL on an allowed host in other case, with the default port", () => `https://${ALLOWED_AVATAR_HOST.toUpperCase()}:443/x.png`],
    ["an https: URL on the host the client connected to", () => `https://127.0.0.1:${server.port}/avatars/a.png`],
  ])("login accepts %s as avatar and shows it to others", async (_name, avatar) => {
    const observer = await user("observer");
    const alice = await user("alice", { avatar: avatar() });
    const update = await observer.client.next("presenceUpdate", (message) => message.user.userID === alice.userID);
    expect(update.user.avatar).toBe(avatar());
  });
});

describe("candidates held for a ringing call (failure cases)", () => {
  it(`holds ${MAX_PENDING_CANDIDATES} candidates per user, refuses the next with too_many_candidates, and delivers those it held on acceptance`, async () => {
    const [alice, bob, observer] = [await user("alice"), await user("bob"), await user("observer")];
    const incoming = await ring(alice, bob, OFFER_SDP);
    await drain(alice.client, bob.client, observer.client);
    for (let index = 0; index <= MAX_PENDING_CANDIDATES; index += 1) {
      alice.client.send({ type: "onIceCandidate", candidate: { ...CANDIDATE_1, candidate: `candidate:${index} 1 udp 1 127.0.0.1 ${50_000 + index} typ host` } });
    }
    await alice.client.sync();
    expect(alice.client.pending().map(refusalCode)).toEqual(["too_many_candidates"]);
    await expectNothingMore(bob.client, observer.client);

    bob.client.send({ type: "incomingCallResponse", callerID: alice.userID, callId: incoming.callId, callResponse: "accepted", sdpAnswer: ANSWER_SDP });
    await bob.client.next("startCommunication");
    await bob.client.sync();
    const delivered = bob.client.pending().filter((message) => message.type === "iceCandidate");
    expect(delivered.map((message) => message.type === "iceCandidate" && message.candidate.candidate)).toEqual(
      Array.from({ length: MAX_PENDING_CANDIDATES }, (_, index) => `candidate:${index} 1 udp 1 127.0.0.1 ${50_000 + index} typ host`),
    );
  });

  it(`refuses with too_many_candidates once a user's held candidates would pass ${MAX_PENDING_CANDIDATE_CHARS} characters`, async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    await ring(alice, bob, OFFER_SDP);
    await drain(alice.client, bob.client);
    const longest = { candidate: "c".repeat(ICE_CANDIDATE_MAX_LENGTH), sdpMid: "0", sdpMLineIndex: 0 };
    const fitting = Math.floor(MAX_PENDING_CANDIDATE_CHARS / (ICE_CANDIDATE_MAX_LENGTH + 1));
    for (let index = 0; index < fitting + 3; index += 1) {
      alice.client.send({ type: "onIceCandidate", candidate: longest });
    }
    await alice.client.sync();
    expect(alice.client.pending().map(refusalCode)).toEqual(["too_many_candidates", "too_many_candidates", "too_many_candidates"]);
    // The callee's own share is untouched by the caller's.
    bob.client.send({ type: "onIceCandidate", candidate: CANDIDATE_1 });
    await expectNothingMore(bob.client);
  });
});
