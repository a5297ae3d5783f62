/**
 * TURN with expiring credentials: the TURN REST API scheme (`server/turn.ts`), one credential per
 * session handed out again until a quarter of its lifetime is left, its configuration, the server
 * handing credentials only to joined or logged-in sessions and refreshing them, and a real coturn
 * (Debian `coturn`) relaying two real WebRTC peers (@roamhq/wrtc) forced to
 * `iceTransportPolicy: "relay"`.
 */
import { createHmac } from "node:crypto";
import wrtc from "@roamhq/wrtc";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { IceServer, ServerMessage } from "../shared/protocol/index.ts";
import { ConfigError, loadConfig, serveHelp, turnSettings, type ServerConfig } from "../server/config.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import { SessionIceServers, TURN_REISSUE_REMAINING_FRACTION, issueTurnCredentials, type TurnSettings } from "../server/turn.ts";
import { requireCoturn, startCoturn, type RunningCoturn } from "./support/coturn.ts";
import { TestClient } from "./support/ws-client.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";

const SECRET = "test-static-auth-secret";
const TURN_URL = "turn:turn.example.test:3478?transport=udp";

/** Generous bound for ICE through a loopback relay on a busy machine. */
const RELAY_DEADLINE_MS = 15_000;

/** How long a refused credential is given to produce a relay candidate anyway. */
const REFUSAL_WINDOW_MS = 5_000;

describe("issueTurnCredentials", () => {
  const settings: TurnSettings = { urls: [TURN_URL], secret: SECRET, credentialTtlSeconds: 600 };

  it("builds `<expiry-unix-seconds>:<id>` and base64(HMAC-SHA1(secret, username))", () => {
    const issued = issueTurnCredentials(settings, "participant-1", 1_700_000_000_500);
    expect(issued.iceServer.username).toBe("1700000600:participant-1");
    expect(issued.iceServer.credential).toBe(createHmac("sha1", SECRET).update("1700000600:participant-1").digest("base64"));
    expect(issued.iceServer.urls).toEqual([TURN_URL]);
    expect(issued.expiresAtMs).toBe(1_700_000_600_000);
  });

  it("never puts the secret in what it issues", () => {
    expect(JSON.stringify(issueTurnCredentials(settings, "p", Date.now()))).not.toContain(SECRET);
  });
});

describe("SessionIceServers", () => {
  const stun: IceServer[] = [{ urls: "stun:stun.example.test:3478" }];
  /** 100 s of lifetime: re-issued once 25 s or less are left, i.e. from 75 s after issuing. */
  const turnSettings100s: TurnSettings = { urls: [TURN_URL], secret: SECRET, credentialTtlSeconds: 100 };

  it("hands out the STUN servers alone, with no expiry, when TURN is not configured", () => {
    const servers = new SessionIceServers(stun, undefined);
    expect(servers.for("p", 0)).toEqual({ iceServers: stun });
    expect(servers.handsOut).toBe(true);
    expect(new SessionIceServers([], undefined).handsOut).toBe(false);
  });

  it("adds one TURN entry naming the session, with its expiry, when TURN is configured", () => {
    const issued = new SessionIceServers(stun, { ...turnSettings100s, credentialTtlSeconds: 60 }).for("p", 10_000);
    expect(issued.iceServers).toEqual([stun[0], { urls: [TURN_URL], username: "70:p", credential: expect.any(String) }]);
    expect(issued.iceServersExpireAtMs).toBe(70_000);
  });

  // Issued at 0 s (expiry 100 s); asked again at `askedAtMs`: the same credential or a new one.
  it.each([
    { spec: "at once", askedAtMs: 0, same: true },
    { spec: "halfway", askedAtMs: 50_000, same: true },
    { spec: "with just over a quarter left", askedAtMs: 74_999, same: true },
    { spec: "with exactly a quarter left", askedAtMs: 75_000, same: false },
    { spec: "with a fifth left (a client refreshing at 80 %)", askedAtMs: 80_000, same: false },
    { spec: "after it expired", askedAtMs: 120_000, same: false },
  ])("asked again $spec: same credential $same", ({ askedAtMs, same }) => {
    const servers = new SessionIceServers([], turnSettings100s);
    const first = servers.for("p", 0);
    const again = servers.for("p", askedAtMs);
    expect(again.iceServers).toEqual(same ? first.iceServers : [{ urls: [TURN_URL], username: `${askedAtMs / 1000 + 100}:p`, credential: expect.any(String) }]);
    expect(again.iceServersExpireAtMs).toBe(same ? 100_000 : askedAtMs + 100_000);
    expect(TURN_REISSUE_REMAINING_FRACTION).toBe(0.25);
  });

  it("keeps the re-issued credential from then on, one per session", () => {
    const servers = new SessionIceServers([], turnSettings100s);
    const renewed = servers.for("p", 0) && servers.for("p", 80_000);
    expect(servers.for("p", 90_000)).toEqual(renewed);
    expect(turnEntry(servers.for("q", 90_000).iceServers).username).toBe("190:q");
  });

  it("forgets a session's credential when the session ends: a session with that id later gets a new one", () => {
    const servers = new SessionIceServers([], turnSettings100s);
    servers.for("p", 0);
    servers.forget("p");
    expect(turnEntry(servers.for("p", 1_000).iceServers).username).toBe("101:p");
  });
});

describe("TURN configuration", () => {
  it("reads URLs, secret and lifetime from the environment, flags winning", () => {
    const config = loadConfig(["--turn-credential-ttl-seconds", "120"], {
      WEBRTC_ROOM_TURN_URLS: "turn:a.test:3478?transport=udp, turns:a.test:5349?transport=tcp",
      WEBRTC_ROOM_TURN_SECRET: SECRET,
      WEBRTC_ROOM_TURN_CREDENTIAL_TTL_SECONDS: "60",
    });
    expect(turnSettings(config)).toEqual({ urls: ["turn:a.test:3478?transport=udp", "turns:a.test:5349?transport=tcp"], secret: SECRET, credentialTtlSeconds: 120 });
  });

  it("is off by default", () => {
    expect(turnSettings(loadConfig([], {}))).toBeUndefined();
  });

  it.each([
    [["--turn-urls", TURN_URL], /go together/],
    [["--turn-secret", SECRET], /go together/],
    [["--turn-urls", "stun:a.test:3478", "--turn-secret", SECRET], /turn: or turns:/],
    [["--turn-urls", TURN_URL, "--turn-secret", SECRET, "--turn-credential-ttl-seconds", "0"], /turnCredentialTtlSeconds/],
  ])("refuses %j", (argv, pattern) => {
    expect(() => loadConfig(argv, {})).toThrow(ConfigError);
    expect(() => loadConfig(argv, {})).toThrow(pattern);
  });

  it("never shows the secret in errors or help", () => {
    try {
      loadConfig(["--turn-secret", SECRET], {});
    } catch (error) {
      expect(String(error)).not.toContain(SECRET);
    }
    expect(serveHelp()).not.toContain(SECRET);
  });
});

// ---------------------------------------------------------------------------------------------
// The server handing credentials out.

let server: RunningServer | undefined;
const clients: TestClient[] = [];

async function startTurnServer(turnUrls: string[], overrides: Partial<ServerConfig> = {}): Promise<RunningServer> {
  server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], turnUrls, turnSecret: SECRET, ...overrides });
  return server;
}

async function connect(): Promise<TestClient> {
  const client = await TestClient.connect(server?.wsUrl ?? "");
  clients.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await server?.close();
  server = undefined;
});

/** The TURN entry of an `iceServers` list (the test servers hand out no STUN). */
function turnEntry(iceServers: IceServer[]): IceServer {
  const entry = iceServers.find((server) => server.username !== undefined);
  if (!entry) {
    throw new Error(`no TURN entry in ${JSON.stringify(iceServers)}`);
  }
  return entry;
}

describe("credentials from the server", () => {
  it("joined carries a TURN entry naming the participant, and when it expires", async () => {
    await startTurnServer([TURN_URL], { turnCredentialTtlSeconds: 600 });
    const client = await connect();
    const before = Date.now();
    const joined = await client.join("turn", "alice");
    const entry = turnEntry(joined.iceServers);
    expect(entry.urls).toEqual([TURN_URL]);
    expect(entry.username).toBe(`${(joined.iceServersExpireAtMs ?? 0) / 1000}:${joined.id}`);
    expect(entry.credential).toBe(createHmac("sha1", SECRET).update(entry.username ?? "").digest("base64"));
    expect(joined.iceServersExpireAtMs).toBeGreaterThan(before + 590_000);
  });

  it("refresh_ice_servers answers the same credential twice in a row: asking again yields nothing new", async () => {
    await startTurnServer([TURN_URL], { turnCredentialTtlSeconds: 600 });
    const client = await connect();
    const joined = await client.join("same", "alice");
    client.send({ type: "refresh_ice_servers" });
    const first = await client.next("ice_servers");
    client.send({ type: "refresh_ice_servers" });
    const second = await client.next("ice_servers");
    for (const answer of [first, second]) {
      expect(answer.iceServers).toEqual(joined.iceServers);
      expect(answer.iceServersExpireAtMs).toBe(joined.iceServersExpireAtMs);
    }
  });

  it("refresh_ice_servers with less than a quarter of the lifetime left answers a new credential for the same participant", async () => {
    const ttlSeconds = 4;
    await startTurnServer([TURN_URL], { turnCredentialTtlSeconds: ttlSeconds });
    const client = await connect();
    const joined = await client.join("refresh", "alice");
    const expiresAtMs = joined.iceServersExpireAtMs ?? 0;
    // The server re-issues once a quarter of the lifetime (1 s) or less is left: wait for that point.
    const reissueAtMs = expiresAtMs - ttlSeconds * 1000 * TURN_REISSUE_REMAINING_FRACTION;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, reissueAtMs - Date.now()) + 50));
    client.send({ type: "refresh_ice_servers" });
    const fresh = await client.next("ice_servers");
    expect(fresh.iceServersExpireAtMs).toBeGreaterThan(expiresAtMs);
    expect(turnEntry(fresh.iceServers).username).toBe(`${(fresh.iceServersExpireAtMs ?? 0) / 1000}:${joined.id}`);
    expect(turnEntry(fresh.iceServers).credential).not.toBe(turnEntry(joined.iceServers).credential);
    // And from then on that one.
    client.send({ type: "refresh_ice_servers" });
    expect((await client.next("ice_servers")).iceServers).toEqual(fresh.iceServers);
  });

  it("resumed carries the credential the participant holds: the session id survives the resume", async () => {
    await startTurnServer([TURN_URL]);
    const client = await connect();
    const joined = await client.join("resumed", "alice");
    const back = await connect();
    back.send({ type: "resume", id: joined.id, resumeToken: joined.resumeToken });
    const resumed = await back.next("resumed");
    expect(resumed.id).toBe(joined.id);
    expect(turnEntry(resumed.iceServers).username).toMatch(new RegExp(`^\\d+:${joined.id}$`));
    expect(resumed.iceServers).toEqual(joined.iceServers);
    expect(resumed.iceServersExpireAtMs).toBe(joined.iceServersExpireAtMs);
  });

  it("loginResponse accepted carries a credential naming the login's session, and refresh answers the same one", async () => {
    await startTurnServer([TURN_URL]);
    const client = await connect();
    client.send({ type: "login", userID: "alice" });
    const response = await client.next("loginResponse");
    if (response.content !== "accepted") {
      throw new Error(`login refused: ${JSON.stringify(response)}`);
    }
    expect(turnEntry(response.iceServers ?? []).username).toBe(`${(response.iceServersExpireAtMs ?? 0) / 1000}:${response.id}`);
    expect(response.iceServersExpireAtMs).toBeGreaterThan(Date.now());
    client.send({ type: "refresh_ice_servers" });
    expect((await client.next("ice_servers")).iceServers).toEqual(response.iceServers);
  });

  it("hands nothing to a connection that has not joined or logged in: no ICE servers, and refresh_ice_servers refused with not_in_room", async () => {
    await startTurnServer([TURN_URL]);
    const client = await connect();
    client.send({ type: "refresh_ice_servers" });
    expect(await client.next("error")).toMatchObject({ code: "not_in_room", refType: "refresh_ice_servers" });
    await client.sync();
    expect(JSON.stringify(client.received)).not.toContain("iceServers");
  });

  it("hands nothing to a refused login (user_online), nor to a connection that left its room", async () => {
    await startTurnServer([TURN_URL]);
    const alice = await connect();
    alice.send({ type: "login", userID: "alice" });
    expect(await alice.next("loginResponse")).toMatchObject({ content: "accepted" });
    const stranger = await connect();
    stranger.send({ type: "login", userID: "alice" });
    expect(await stranger.next("loginResponse")).toMatchObject({ content: "rejected", code: "user_online" });
    stranger.send({ type: "refresh_ice_servers" });
    expect(await stranger.next("error")).toMatchObject({ code: "not_in_room", refType: "refresh_ice_servers" });
    expect(JSON.stringify(stranger.received)).not.toContain("iceServers");

    const leaver = await connect();
    await leaver.join("left", "leaver");
    leaver.send({ type: "close_connection" });
    leaver.send({ type: "refresh_ice_servers" });
    expect(await leaver.next("error")).toMatchObject({ code: "not_in_room", refType: "refresh_ice_servers" });
    expect(leaver.received.filter((message) => message.type === "ice_servers")).toEqual([]);
  });

  it("never sends the secret", async () => {
    await startTurnServer([TURN_URL]);
    const client = await connect();
    await client.join("secret", "alice");
    client.send({ type: "refresh_ice_servers" });
    await client.next("ice_servers");
    expect(JSON.stringify(client.received)).not.toContain(SECRET);
  });
});

// ---------------------------------------------------------------------------------------------
// A real coturn.

type Joined = Extract<ServerMessage, { type: "joined" }>;

/** What happened when two relay-only peers tried to connect. */
interface RelayAttempt {
  connected: boolean;
  /** Candidate types of the selected pair (local, remote) when connected. */
  selectedTypes?: [string, string];
  /** Relay candidates the offerer gathered. */
  relayCandidates: number;
}

/**
 * Connects two `iceTransportPolicy: "relay"` peer connections on loopback, signaling in-process,
 * and sends one data channel message across. Resolves when the message arrives or `timeoutMs` ends.
 */
async function connectThroughRelay(offererServers: IceServer[], answererServers: IceServer[], timeoutMs: number): Promise<RelayAttempt> {
  const offerer = new wrtc.RTCPeerConnection({ iceServers: offererServers, iceTransportPolicy: "relay" });
  const answerer = new wrtc.RTCPeerConnection({ iceServers: answererServers, iceTransportPolicy: "relay" });
  let relayCandidates = 0;
  offerer.onicecandidate = ({ candidate }) => {
    if (candidate) {
      relayCandidates += candidate.candidate.includes(" typ relay") ? 1 : 0;
      void answerer.addIceCandidate(candidate).catch(() => undefined);
    }
  };
  answerer.onicecandidate = ({ candidate }) => {
    if (candidate) {
      void offerer.addIceCandidate(candidate).catch(() => undefined);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const channel = offerer.createDataChannel("relay-check");
    const received = new Promise<boolean>((resolve) => {
      answerer.ondatachannel = ({ channel: incoming }) => {
        incoming.onmessage = ({ data }) => resolve(data === "through the relay");
      };
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    channel.onopen = () => channel.send("through the relay");
    await offerer.setLocalDescription(await offerer.createOffer());
    await answerer.setRemoteDescription(offerer.localDescription as RTCSessionDescriptionInit);
    await answerer.setLocalDescription(await answerer.createAnswer());
    await offerer.setRemoteDescription(answerer.localDescription as RTCSessionDescriptionInit);
    const connected = await received;
    if (!connected) {
      return { connected, relayCandidates };
    }
    const stats = await offerer.getStats();
    let selectedTypes: [string, string] | undefined;
    stats.forEach((report: { type: string; state?: string; nominated?: boolean; localCandidateId?: string; remoteCandidateId?: string }) => {
      if (report.type === "candidate-pair" && report.state === "succeeded" && report.nominated) {
        const local = stats.get(report.localCandidateId ?? "") as { candidateType?: string } | undefined;
        const remote = stats.get(report.remoteCandidateId ?? "") as { candidateType?: string } | undefined;
        selectedTypes = [local?.candidateType ?? "?", remote?.candidateType ?? "?"];
      }
    });
    return { connected, relayCandidates, ...(selectedTypes ? { selectedTypes } : {}) };
  } finally {
    clearTimeout(timer);
    offerer.close();
    answerer.close();
  }
}

const hasCoturn = requireCoturn();

describe.skipIf(!hasCoturn)("through a real coturn", () => {
  let turn: RunningCoturn;

  beforeAll(async () => {
    turn = await startCoturn({ secret: SECRET });
  });

  afterAll(async () => {
    await turn?.stop();
  });

  /** Two participants joined to one room of a server that hands out `turn`'s URL. */
  async function twoJoined(overrides: Partial<ServerConfig> = {}): Promise<[Joined, Joined, TestClient, TestClient]> {
    await startTurnServer([turn.url], overrides);
    const alice = await connect();
    const bob = await connect();
    return [await alice.join("relay", "alice"), await bob.join("relay", "bob"), alice, bob];
  }

  it("relay-only peers connect with the credentials from joined", async () => {
    const [alice, bob] = await twoJoined();
    const attempt = await connectThroughRelay(alice.iceServers, bob.iceServers, RELAY_DEADLINE_MS);
    expect(attempt, turn.log()).toMatchObject({ connected: true, selectedTypes: ["relay", "relay"] });
    expect(attempt.relayCandidates).toBeGreaterThan(0);
  });

  it("coturn refuses a wrong credential: no relay candidate, no connection", async () => {
    const [alice, bob] = await twoJoined();
    // Change the first character to a different one: a fixed replacement (the old test wrote "A="
    // over the end) leaves the credential intact whenever it already had that character (1 in 16).
    const forge = (credential: string): string => `${credential.startsWith("A") ? "B" : "A"}${credential.slice(1)}`;
    const forged = alice.iceServers.map((server) => (server.credential ? { ...server, credential: forge(server.credential) } : server));
    const attempt = await connectThroughRelay(forged, bob.iceServers, REFUSAL_WINDOW_MS);
    expect(attempt).toEqual({ connected: false, relayCandidates: 0 });
  });

  it("coturn refuses a credential that has expired", async () => {
    const [alice, bob] = await twoJoined();
    // Issued by the server's own code an hour ago, with a one-minute lifetime.
    const settings: TurnSettings = { urls: [turn.url], secret: SECRET, credentialTtlSeconds: 60 };
    const expired = issueTurnCredentials(settings, alice.id, Date.now() - 3_600_000);
    const attempt = await connectThroughRelay([expired.iceServer], bob.iceServers, REFUSAL_WINDOW_MS);
    expect(attempt).toEqual({ connected: false, relayCandidates: 0 });
  });

  it("credentials refreshed after the first ones expired still connect", async () => {
    const ttlSeconds = 4;
    const [alice, bob, aliceClient, bobClient] = await twoJoined({ turnCredentialTtlSeconds: ttlSeconds });
    const expiresAtMs = alice.iceServersExpireAtMs ?? 0;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAtMs - Date.now()) + 1_100));
    const stale = await connectThroughRelay(alice.iceServers, bob.iceServers, REFUSAL_WINDOW_MS);
    expect(stale.relayCandidates).toBe(0);

    aliceClient.send({ type: "refresh_ice_servers" });
    bobClient.send({ type: "refresh_ice_servers" });
    const fresh = await aliceClient.next("ice_servers");
    const bobFresh = await bobClient.next("ice_servers");
    expect(fresh.iceServersExpireAtMs).toBeGreaterThan(Date.now() + 1_000);
    const attempt = await connectThroughRelay(fresh.iceServers, bobFresh.iceServers, RELAY_DEADLINE_MS);
    expect(attempt, turn.log()).toMatchObject({ connected: true, selectedTypes: ["relay", "relay"] });
  });
});
