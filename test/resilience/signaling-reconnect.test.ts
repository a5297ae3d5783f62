/**
 * The reconnect policy and the signaling client's reconnect loop, against a real WebSocket server
 * (`ws`) that the test controls: it can drop a socket without a close frame, close with a given
 * code, or stop listening.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import {
  RECONNECT_MAX_ATTEMPTS,
  SignalingClient,
  SignalingState,
  defaultShouldReconnect,
  exponentialBackoff,
  type SignalingEvents,
} from "../../client/core/index.ts";
import { waitFor } from "../mesh/helpers.ts";

/** A `ws` server on loopback that records what each connection sent. */
class TestServer {
  readonly wss: WebSocketServer;
  readonly sockets: WebSocket[] = [];
  /** Text frames received, per connection, in order. */
  readonly received: string[][] = [];

  private constructor(wss: WebSocketServer) {
    this.wss = wss;
    wss.on("connection", (socket) => {
      const frames: string[] = [];
      this.sockets.push(socket);
      this.received.push(frames);
      socket.on("message", (data) => frames.push(String(data)));
    });
  }

  static async start(port = 0): Promise<TestServer> {
    const wss = new WebSocketServer({ host: "127.0.0.1", port });
    await once(wss, "listening");
    return new TestServer(wss);
  }

  get port(): number {
    return (this.wss.address() as AddressInfo).port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Types of the messages connection `index` received. */
  typesOn(index: number): unknown[] {
    return (this.received[index] ?? []).map((frame) => (JSON.parse(frame) as { t?: number }).t);
  }

  async stop(): Promise<void> {
    for (const socket of this.wss.clients) {
      socket.terminate();
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

const servers: TestServer[] = [];
const clients: SignalingClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) {
    client.close();
  }
  for (const server of servers.splice(0)) {
    await server.stop();
  }
});

async function startServer(port?: number): Promise<TestServer> {
  const server = await TestServer.start(port);
  servers.push(server);
  return server;
}

/** A client with a fast, deterministic policy (10 ms between attempts) and its events recorded. */
function recordedClient(url: string, options: { maxAttempts?: number; maxQueuedMessages?: number } = {}) {
  const client = new SignalingClient({
    url,
    WebSocket,
    reconnect: exponentialBackoff({ baseDelayMs: 10, factor: 1, maxAttempts: options.maxAttempts ?? 50, random: () => 1 }),
    ...(options.maxQueuedMessages !== undefined ? { maxQueuedMessages: options.maxQueuedMessages } : {}),
  });
  clients.push(client);
  const events: string[] = [];
  const dropped: Array<SignalingEvents["dropped"]> = [];
  const closes: Array<SignalingEvents["close"]> = [];
  client.on("reconnecting", ({ attempt, code }) => events.push(`reconnecting ${attempt} (${code})`));
  client.on("reconnected", ({ attempts }) => events.push(`reconnected after ${attempts}`));
  client.on("dropped", (event) => dropped.push(event));
  client.on("close", (info) => closes.push(info));
  return { client, events, dropped, closes };
}

describe("exponentialBackoff", () => {
  test.each([
    [1, 250],
    [2, 500],
    [3, 1_000],
    [4, 2_000],
    [5, 4_000],
    [6, 5_000],
    [30, 5_000],
    [RECONNECT_MAX_ATTEMPTS, 5_000],
  ])("the default policy's delay bound for attempt %i is %i ms", (attempt, boundMs) => {
    expect(exponentialBackoff({ random: () => 1 })(attempt)).toBe(boundMs);
    expect(exponentialBackoff({ random: () => 0 })(attempt)).toBe(0);
  });

  test("full jitter draws every delay inside [0, bound]", () => {
    const policy = exponentialBackoff();
    for (let attempt = 1; attempt <= 12; attempt += 1) {
      const delayMs = policy(attempt) ?? -1;
      expect(delayMs).toBeGreaterThanOrEqual(0);
      expect(delayMs).toBeLessThanOrEqual(Math.min(5_000, 250 * 2 ** (attempt - 1)));
    }
  });

  test("the policy gives up with null after maxAttempts", () => {
    const policy = exponentialBackoff({ maxAttempts: 3 });
    expect([1, 2, 3, 4].map((attempt) => policy(attempt) === null)).toEqual([false, false, false, true]);
    expect(exponentialBackoff()(RECONNECT_MAX_ATTEMPTS + 1)).toBeNull();
  });

  test.each([
    [1006, true],
    [1012, true],
    [1001, true],
    [4002, true],
    [1000, false],
    [4001, false],
    [4003, false],
    [4004, false],
  ])("defaultShouldReconnect(%i) is %s", (code, expected) => {
    expect(defaultShouldReconnect(code)).toBe(expected);
  });
});

describe("SignalingClient reconnect, happy path", () => {
  test("a client reconnects by itself after its socket is dropped and holds the queue until flushed", async () => {
    const server = await startServer();
    const { client, events, dropped } = recordedClient(server.url);
    await client.connect();
    client.send({ type: "ping", t: 1 });
    await waitFor("first frame", () => server.received[0]?.length === 1);

    const whileAway: unknown[] = [];
    client.once("reconnecting", () => {
      whileAway.push(client.state, client.send({ type: "ping", t: 2 }), client.send({ type: "ping", t: 3 }), client.queuedCount);
    });
    server.sockets[0]?.terminate();

    await waitFor("reconnected", () => events.includes("reconnected after 1"));
    expect(whileAway).toEqual([SignalingState.reconnecting, true, true, 2]);
    expect(client.state).toBe(SignalingState.open);
    // Held: a message sent now joins the queue, an identity message jumps it.
    expect(client.send({ type: "ping", t: 4 })).toBe(true);
    expect(client.sendNow({ type: "ping", t: 100 })).toBe(true);
    client.flushQueue();
    client.send({ type: "ping", t: 5 });

    await waitFor("five frames on the second connection", () => server.received[1]?.length === 5);
    expect(server.typesOn(1)).toEqual([100, 2, 3, 4, 5]);
    expect(events).toEqual(["reconnecting 1 (1006)", "reconnected after 1"]);
    expect(dropped).toEqual([]);
  });

  test("the backoff restarts at attempt 1 only once the owner flushed, not when a socket merely opens", async () => {
    const server = await startServer();
    const { client, events } = recordedClient(server.url);
    await client.connect();

    server.sockets[0]?.terminate();
    await waitFor("first reconnection", () => server.sockets.length === 2 && client.isOpen);
    server.sockets[1]?.terminate();
    await waitFor("second reconnection", () => server.sockets.length === 3 && client.isOpen);
    client.flushQueue();
    server.sockets[2]?.terminate();
    await waitFor("third reconnection", () => server.sockets.length === 4 && client.isOpen);

    expect(events).toEqual([
      "reconnecting 1 (1006)",
      "reconnected after 1",
      "reconnecting 2 (1006)",
      "reconnected after 2",
      "reconnecting 1 (1006)",
      "reconnected after 1",
    ]);
  });

  test("a client keeps trying while the server is down and comes back when it listens again", async () => {
    const first = await startServer();
    const port = first.port;
    const { client, events } = recordedClient(first.url);
    await client.connect();

    await first.stop();
    servers.splice(servers.indexOf(first), 1);
    await waitFor("a few failed attempts", () => events.filter((event) => event.startsWith("reconnecting")).length >= 3);
    const second = await startServer(port);

    await waitFor("reconnected", () => events.some((event) => event.startsWith("reconnected")));
    expect(client.isOpen).toBe(true);
    expect(second.sockets).toHaveLength(1);
  });
});

describe("SignalingClient reconnect, failure cases", () => {
  test("close() stops the client for good: no attempt follows, queued messages are dropped", async () => {
    const server = await startServer();
    const { client, events, closes } = recordedClient(server.url);
    await client.connect();
    client.once("reconnecting", () => {
      client.close();
      client.close();
    });
    server.sockets[0]?.terminate();
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(client.closed).toBe(true);
    expect(closes).toEqual([{ code: 1000, reason: "client closed", byClient: true, opened: true }]);
    expect(server.sockets).toHaveLength(1);
    expect(events).toEqual(["reconnecting 1 (1006)"]);
  });

  test.each([
    [4001, "too many errors"],
    [4003, "replaced"],
    [4004, "resumed elsewhere"],
    [1000, "normal"],
  ])("a close with code %i (%s) is final: no reconnect", async (code, reason) => {
    const server = await startServer();
    const { client, events, closes } = recordedClient(server.url);
    await client.connect();

    server.sockets[0]?.close(code, reason);
    await waitFor("closed", () => client.closed);

    expect(events).toEqual([]);
    expect(closes).toEqual([{ code, reason, byClient: false, opened: true }]);
    expect(server.sockets).toHaveLength(1);
  });

  test("the client gives up when the policy says null and reports the last close", async () => {
    const server = await startServer();
    const { client, events, closes, dropped } = recordedClient(server.url, { maxAttempts: 2 });
    await client.connect();
    client.once("reconnecting", () => client.send({ type: "ping", t: 1 }));
    await server.stop();
    servers.splice(0);

    await waitFor("closed", () => client.closed);
    expect(events).toEqual(["reconnecting 1 (1006)", "reconnecting 2 (1006)"]);
    expect(closes).toHaveLength(1);
    expect(closes[0]?.byClient).toBe(false);
    expect(dropped).toEqual([{ messages: [{ type: "ping", t: 1 }], reason: "closed" }]);
  });

  test("a full queue refuses further messages with a dropped event, and discardQueue() drops the rest", async () => {
    const server = await startServer();
    const { client, dropped } = recordedClient(server.url, { maxQueuedMessages: 2 });
    await client.connect();
    // Keep the server from accepting the reconnect quickly: stop listening first.
    const port = server.port;
    await server.stop();
    servers.splice(0);
    await waitFor("reconnecting", () => client.isReconnecting);

    expect(client.send({ type: "ping", t: 1 })).toBe(true);
    expect(client.send({ type: "ping", t: 2 })).toBe(true);
    expect(client.send({ type: "ping", t: 3 })).toBe(false);
    expect(dropped).toEqual([{ messages: [{ type: "ping", t: 3 }], reason: "queue_full" }]);

    await startServer(port);
    await waitFor("reconnected", () => client.isOpen);
    client.discardQueue();
    expect(dropped[1]).toEqual({ messages: [{ type: "ping", t: 1 }, { type: "ping", t: 2 }], reason: "discarded" });
    expect(client.queuedCount).toBe(0);
  });

  test("a client without a policy is single-use, as before: the first loss is final", async () => {
    const server = await startServer();
    const client = new SignalingClient({ url: server.url, WebSocket });
    clients.push(client);
    const closes: number[] = [];
    client.on("close", ({ code }) => closes.push(code));
    await client.connect();

    server.sockets[0]?.terminate();
    await waitFor("closed", () => client.closed);

    expect(closes).toEqual([1006]);
    expect(client.send({ type: "ping" })).toBe(false);
  });
});
