/**
 * Hostile HTTP: malformed paths on every route and odd WebSocket handshakes answer that one request
 * and never stop the server (one `GET /r/%` used to end the process).
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../../server/server.ts";
import { getRequest, rawRequest, upgradeRequest, type RawResponse } from "../support/raw-http.ts";
import { mulberry32 } from "../support/seeded-random.ts";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ host: "127.0.0.1", port: 0, iceServers: [] });
});

afterAll(async () => {
  await server.close();
});

/** Answers the request or fails the test: the server must answer, not drop the connection. */
async function answer(request: string): Promise<RawResponse> {
  const response = await rawRequest(server.port, request);
  if (response === "closed") {
    throw new Error(`the server closed the connection without answering ${JSON.stringify(request.split("\r\n")[0])}`);
  }
  return response;
}

async function metric(name: string): Promise<string[]> {
  const text = (await answer(getRequest("/metrics"))).body;
  return text.split("\n").filter((line) => line.startsWith(name));
}

async function expectHealthy(): Promise<void> {
  const health = await answer(getRequest("/healthz"));
  expect(health.status).toBe(200);
  expect(JSON.parse(health.body)).toMatchObject({ status: "ok" });
}

const MALFORMED_ESCAPES = ["%", "%E0%A4%A", "%C0%80", "%ZZ", "%ED%A0%80", "%Z", "%FF", "%F4%90%80%80", "%%", "%u0041", "%2", "%00", "%0A", "%25%", "a%"];
const ROUTE_PREFIXES = ["/r/", "/assets/", "/", "/call/", "/healthz/", "/metrics/", "/embed-example.html/", "/ws/", "/nothing/"];

describe("malformed paths", () => {
  it.each(["/r/%", "/r/%E0%A4%A", "/r/%C0%80", "/r/%ZZ", "/r/%ED%A0%80"])("GET %s answers 400 and the server keeps serving", async (path) => {
    const response = await answer(getRequest(path));
    expect(response.status).toBe(400);
    await expectHealthy();
  });

  it("every route answers every malformed escape with a status below 500, and nothing reaches a handler boundary", async () => {
    const statuses = new Set<number>();
    for (const prefix of ROUTE_PREFIXES) {
      for (const escape of MALFORMED_ESCAPES) {
        for (const path of [`${prefix}${escape}`, `${prefix}ok${escape}`, `${prefix}${escape}/more`]) {
          const response = await answer(getRequest(path));
          expect(response.status, path).toBeLessThan(500);
          statuses.add(response.status);
        }
      }
    }
    expect(statuses.has(400)).toBe(true);
    expect(await metric("webrtc_room_internal_errors_total{")).toEqual([]);
    await expectHealthy();
  });

  it("a seeded fuzz of random percent-encoded bytes on every route never stops the server", async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261203);
    const random = mulberry32(seed);
    for (let attempt = 0; attempt < 300; attempt += 1) {
      const prefix = ROUTE_PREFIXES[Math.floor(random() * ROUTE_PREFIXES.length)] ?? "/r/";
      let segment = "";
      const length = 1 + Math.floor(random() * 12);
      for (let index = 0; index < length; index += 1) {
        const roll = random();
        if (roll < 0.5) {
          segment += `%${Math.floor(random() * 256).toString(16).padStart(2, "0")}`;
        } else if (roll < 0.6) {
          segment += "%";
        } else {
          segment += "abcXYZ09_-."[Math.floor(random() * 11)];
        }
      }
      const response = await rawRequest(server.port, getRequest(`${prefix}${segment}`));
      // The transport may refuse a request line it cannot parse by closing; anything it answers is below 500.
      if (response !== "closed") {
        expect(response.status, `seed ${seed}, path ${prefix}${segment}`).toBeLessThan(500);
      }
    }
    await expectHealthy();
  });

  it("a very long path is answered, not fatal", async () => {
    const response = await rawRequest(server.port, getRequest(`/r/${"%41".repeat(3000)}`));
    if (response !== "closed") {
      expect(response.status).toBeLessThan(500);
    }
    await expectHealthy();
  });
});

describe("HEAD and conditional requests", () => {
  it.each(["/healthz", "/metrics", "/r/standup", "/call", "/embed-example.html", "/", "/nothing-here", "/r/%"])("HEAD %s answers the GET's status and length without a body", async (path) => {
    const get = await answer(getRequest(path));
    const head = await answer(getRequest(path).replace(/^GET /, "HEAD "));
    expect(head.status).toBe(get.status);
    expect(head.body).toBe("");
    if (path !== "/metrics" && path !== "/healthz") {
      expect(head.headers["content-length"]).toBe(get.headers["content-length"]);
    }
  });

  it("an asset asked for with its current ETag is answered 304 without a body", async () => {
    const first = await answer(getRequest("/assets/webrtc-room.js"));
    expect(first.status).toBe(200);
    const etag = first.headers.etag ?? "";
    expect(etag).not.toBe("");
    const again = await answer(getRequest("/assets/webrtc-room.js", [`If-None-Match: ${etag}`]));
    expect(again.status).toBe(304);
    expect(again.body).toBe("");
    const stale = await answer(getRequest("/assets/webrtc-room.js", ['If-None-Match: "stale"']));
    expect(stale.status).toBe(200);
  });
});

describe("WebSocket handshakes", () => {
  it("a version other than 13 gets 426 with the version the server speaks", async () => {
    for (const version of ["8", "12", "14", ""]) {
      const response = await answer(upgradeRequest("/ws", { version }));
      expect(response.status, `version "${version}"`).toBe(426);
      expect(response.headers["sec-websocket-version"]).toBe("13");
    }
  });

  it("an upgrade without Sec-WebSocket-Key, or with an empty one, gets 400", async () => {
    expect((await answer(upgradeRequest("/ws", { key: "" }))).status).toBe(400);
    expect((await answer(upgradeRequest("/ws", { key: "", extraHeaders: ["Sec-WebSocket-Key: "] }))).status).toBe(400);
  });

  it("a proper version 13 handshake still switches protocols", async () => {
    const response = await answer(upgradeRequest("/ws"));
    expect(response.status).toBe(101);
  });

  it("refused handshakes are counted by reason in /metrics", async () => {
    expect(await metric("webrtc_room_upgrades_refused_total{")).toEqual([expect.stringMatching(/reason="version"\} [1-9]/)]);
  });
});

describe("an unmasked client frame", () => {
  it("never holds its connection past the idle timeout, and other clients are served meanwhile", async () => {
    const idleServer = await startServer({ host: "127.0.0.1", port: 0, iceServers: [], idleTimeoutSeconds: 8 });
    try {
      const socket = net.connect(idleServer.port, "127.0.0.1");
      socket.on("error", () => undefined);
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      await new Promise<void>((resolve) => {
        socket.once("data", () => resolve());
        socket.write(upgradeRequest("/ws"));
      });
      const payload = Buffer.from(JSON.stringify({ type: "ping", t: 1 }));
      // FIN + text opcode, then a length byte without the mask bit: what RFC 6455 forbids clients to send.
      socket.write(Buffer.concat([Buffer.from([0x81, payload.length]), payload]));
      const health = await rawRequest(idleServer.port, getRequest("/healthz"));
      expect(health === "closed" ? "closed" : health.status).toBe(200);
      // uWebSockets.js reads a mask from every client frame, so it cannot answer 1002; the idle
      // timeout (pings unanswered) bounds how long the broken connection is held.
      await closed;
      expect(socket.destroyed).toBe(true);
    } finally {
      await idleServer.close();
    }
  }, 30_000);
});
