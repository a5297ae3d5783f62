/**
 * Per-address and total limits, as a hostile client meets them: one address cannot hold more
 * WebSockets than its share, open them faster than its rate, log in or call faster than its rate
 * by using a new connection each time, or guess resume tokens; and a full server still answers
 * `/healthz`.
 */
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { ServerConfig } from "../../server/config.ts";
import { startServer, type RunningServer } from "../../server/server.ts";
import { getRequest, rawRequest, upgradeRequest, type RawResponse } from "../support/raw-http.ts";
import { TestClient } from "../support/ws-client.ts";

const servers: RunningServer[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) {
    client.socket.terminate();
  }
  for (const server of servers.splice(0)) {
    await server.close();
  }
});

async function serve(overrides: Partial<ServerConfig>): Promise<RunningServer> {
  const server = await startServer({ host: "127.0.0.1", port: 0, iceServers: [], shutdownTimeoutMs: 200, ...overrides });
  servers.push(server);
  return server;
}

async function connect(server: RunningServer, headers: Record<string, string> = {}): Promise<TestClient> {
  const client = await TestClient.connect(server.wsUrl, { headers });
  clients.push(client);
  return client;
}

/** The HTTP answer to a WebSocket upgrade that the server refuses. */
async function refusedUpgrade(server: RunningServer, extraHeaders: readonly string[] = []): Promise<RawResponse> {
  const response = await rawRequest(server.port, upgradeRequest("/ws", { extraHeaders }));
  if (response === "closed" || response.status === 101) {
    throw new Error(`expected a refusal, got ${response === "closed" ? "a bare close" : "101"}`);
  }
  return response;
}

async function healthz(server: RunningServer): Promise<{ status: string; connections: number }> {
  const response = await rawRequest(server.port, getRequest("/healthz"));
  if (response === "closed") {
    throw new Error("/healthz closed without answering");
  }
  expect(response.status).toBe(200);
  return JSON.parse(response.body) as { status: string; connections: number };
}

describe("connections per address", () => {
  it("past its ceiling an address gets 429 with Retry-After; a closed connection frees a place", async () => {
    const server = await serve({ maxConnectionsPerAddress: 5 });
    const held = await Promise.all(Array.from({ length: 5 }, () => connect(server)));
    const refused = await refusedUpgrade(server);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    await held[0]?.close();
    await connect(server);
    expect((await healthz(server)).connections).toBe(5);
  });

  it("a forged X-Forwarded-For from an untrusted peer does not buy more connections", async () => {
    const server = await serve({ maxConnectionsPerAddress: 2 });
    await connect(server, { "x-forwarded-for": "198.51.100.1" });
    await connect(server, { "x-forwarded-for": "198.51.100.2" });
    expect((await refusedUpgrade(server, ["X-Forwarded-For: 198.51.100.3"])).status).toBe(429);
  });

  it("behind a trusted proxy each forwarded client address has its own ceiling", async () => {
    const server = await serve({ maxConnectionsPerAddress: 2, trustedProxies: ["127.0.0.0/8"] });
    for (const address of ["198.51.100.1", "198.51.100.2"]) {
      await connect(server, { "x-forwarded-for": address });
      await connect(server, { "x-forwarded-for": `203.0.113.77, ${address}` });
    }
    expect((await refusedUpgrade(server, ["X-Forwarded-For: 198.51.100.1"])).status).toBe(429);
    await connect(server, { "x-forwarded-for": "198.51.100.3" });
  });

  it("upgrades faster than the per-address rate get 429", async () => {
    const server = await serve({ upgradeBurstPerAddress: 3, upgradesPerSecondPerAddress: 1 });
    for (let index = 0; index < 3; index += 1) {
      await connect(server);
    }
    const refused = await refusedUpgrade(server);
    expect(refused.status).toBe(429);
    expect(refused.headers["retry-after"]).toBeDefined();
  });
});

describe("total connections", () => {
  it("past --max-connections upgrades get 503 with Retry-After and /healthz still answers", async () => {
    const server = await serve({ maxConnections: 4 });
    await Promise.all(Array.from({ length: 4 }, () => connect(server)));
    const refused = await refusedUpgrade(server);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    const health = await healthz(server);
    expect(health).toMatchObject({ status: "ok", connections: 4, maxConnections: 4 });
  });
});

describe("attempts per address across connections", () => {
  it("logins past the per-address burst are rejected with rate_limited even on fresh connections, and the lobby never hears of them", async () => {
    // A window of one event-loop turn: presence of each login goes out right after it.
    const server = await serve({ loginBurstPerAddress: 3, loginsPerSecondPerAddress: 1, presenceWindowMs: 0 });
    const watcher = await connect(server);
    watcher.send({ type: "login", userID: "watcher" });
    await watcher.next("loginResponse", (message) => message.content === "accepted");
    const outcomes: string[] = [];
    for (let index = 0; index < 4; index += 1) {
      const client = await connect(server);
      client.send({ type: "login", userID: `user-${index}` });
      const response = await client.next("loginResponse");
      outcomes.push(response.content === "accepted" ? "accepted" : response.code);
    }
    expect(outcomes).toEqual(["accepted", "accepted", "rate_limited", "rate_limited"]);
    // Presence is coalesced: wait until the accepted logins are announced, then one more round trip.
    await expect.poll(() => JSON.stringify(watcher.received), { timeout: 10_000 }).toContain("user-1");
    await watcher.sync();
    const announced = JSON.stringify(watcher.received);
    expect(announced).not.toContain("user-2");
    expect(announced).not.toContain("user-3");
  });

  it("calls past the per-address burst are refused with rate_limited and ring nobody", async () => {
    const server = await serve({ callBurstPerAddress: 2, callsPerSecondPerAddress: 1 });
    const callee = await connect(server);
    callee.send({ type: "login", userID: "callee" });
    await callee.next("loginResponse");
    const caller = await connect(server);
    caller.send({ type: "login", userID: "caller" });
    await caller.next("loginResponse");
    caller.send({ type: "call", calleeID: "nobody-online", sdpOffer: "v=0" });
    expect((await caller.next("callResponse")).callResponse).toBe("notOnline");
    caller.send({ type: "call", calleeID: "nobody-online", sdpOffer: "v=0" });
    expect((await caller.next("callResponse")).callResponse).toBe("notOnline");
    caller.send({ type: "call", calleeID: "callee", sdpOffer: "v=0" });
    expect(await caller.next("error")).toMatchObject({ code: "rate_limited", refType: "call" });
    await callee.sync();
    expect(callee.pending().some((message) => message.type === "incomingCall")).toBe(false);
  });
});

describe("resume", () => {
  it("answers an unknown id and a wrong token with the same code and text", async () => {
    const server = await serve({});
    const member = await connect(server);
    const joined = await member.join("resume-oracle", "Ada");
    const unknown = await connect(server);
    unknown.send({ type: "resume", id: "unknown-participant-id", resumeToken: "x".repeat(32) });
    const wrong = await connect(server);
    wrong.send({ type: "resume", id: joined.id, resumeToken: "y".repeat(32) });
    const [first, second] = [await unknown.next("error"), await wrong.next("error")];
    expect(first.code).toBe("resume_failed");
    expect({ code: second.code, message: second.message }).toEqual({ code: first.code, message: first.message });
  });

  it("after its budget of refused resumes an address is refused even with the right token", async () => {
    const server = await serve({ resumeFailureBurstPerAddress: 3, resumeFailuresPerSecondPerAddress: 1, trustedProxies: ["127.0.0.1"] });
    const member = await connect(server, { "x-forwarded-for": "198.51.100.10" });
    const joined = await member.join("resume-throttle", "Ada");
    // The participant's connection drops abruptly: it is suspended, waiting for a resume.
    member.socket.terminate();
    await member.closed;
    const guesser = await connect(server, { "x-forwarded-for": "203.0.113.66" });
    for (let guess = 0; guess < 3; guess += 1) {
      guesser.send({ type: "resume", id: joined.id, resumeToken: `guess-${guess}-${"z".repeat(24)}` });
      expect((await guesser.next("error")).code).toBe("resume_failed");
    }
    guesser.send({ type: "resume", id: joined.id, resumeToken: joined.resumeToken });
    expect((await guesser.next("error")).code).toBe("resume_failed");
    // The participant's own client, from its own address, still gets back in.
    const owner = await connect(server, { "x-forwarded-for": "198.51.100.10" });
    owner.send({ type: "resume", id: joined.id, resumeToken: joined.resumeToken });
    expect((await owner.next("resumed")).id).toBe(joined.id);
  });
});

describe("a server run out of connections", () => {
  it("keeps answering /healthz while a client holds every connection it allows", async () => {
    const server = await serve({ maxConnections: 20, maxConnectionsPerAddress: 1000, upgradeBurstPerAddress: 1000 });
    const sockets: WebSocket[] = [];
    const outcomes = await Promise.all(Array.from({ length: 40 }, () => new Promise<"open" | number>((resolve) => {
      const socket = new WebSocket(server.wsUrl);
      sockets.push(socket);
      socket.once("open", () => resolve("open"));
      socket.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
      socket.once("error", () => resolve(0));
    })));
    try {
      expect(outcomes.filter((outcome) => outcome === "open")).toHaveLength(20);
      expect(outcomes.filter((outcome) => outcome === 503)).toHaveLength(20);
      expect((await healthz(server)).connections).toBe(20);
    } finally {
      for (const socket of sockets) {
        socket.terminate();
      }
    }
  });
});
