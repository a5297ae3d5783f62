/**
 * A raw WebSocket test client: records every message the server sends and lets a test wait for
 * one by predicate, or check that nothing arrived.
 */
import WebSocket from "ws";
import type { ServerMessage } from "../../shared/protocol/index.ts";

/** How long a test waits for an expected message before failing (generous: never a timing goal). */
export const EXPECT_TIMEOUT_MS = 5_000;

/** A connected raw client. */
export class TestClient {
  readonly received: ServerMessage[] = [];
  #cursor = 0;
  #waiters: Array<() => void> = [];
  closeCode: number | undefined;
  closeReason = "";
  readonly closed: Promise<number>;

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data, isBinary) => {
      if (!isBinary) {
        this.received.push(JSON.parse(data.toString()) as ServerMessage);
        this.#wake();
      }
    });
    this.closed = new Promise((resolve) => {
      socket.on("close", (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.#wake();
        resolve(code);
      });
    });
  }

  /** Opens a client to `url` and waits for the connection. */
  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    const socket = new WebSocket(url, options);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    return new TestClient(socket);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) {
      wake();
    }
  }

  /** Sends a JSON message (or a raw string / buffer as is). */
  send(message: object | string | Buffer): void {
    this.socket.send(typeof message === "object" && !Buffer.isBuffer(message) ? JSON.stringify(message) : message);
  }

  /**
   * Waits for the next not-yet-consumed message of `type` (and matching `where`), consuming every
   * message before it.
   */
  async next<Type extends ServerMessage["type"]>(
    type: Type,
    where: (message: Extract<ServerMessage, { type: Type }>) => boolean = () => true,
    timeoutMs = EXPECT_TIMEOUT_MS,
  ): Promise<Extract<ServerMessage, { type: Type }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#cursor < this.received.length) {
        const message = this.received[this.#cursor++] as ServerMessage;
        if (message.type === type && where(message as Extract<ServerMessage, { type: Type }>)) {
          return message as Extract<ServerMessage, { type: Type }>;
        }
      }
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0 || this.closeCode !== undefined) {
        throw new Error(`no "${type}" message within ${timeoutMs} ms (close code ${this.closeCode}); got ${JSON.stringify(this.received.map((m) => m.type))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remainingMs);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Joins `room` and resolves with the `joined` acknowledgement. */
  async join(room: string, username: string): Promise<Extract<ServerMessage, { type: "joined" }>> {
    this.send({ type: "new_user", room, username });
    return this.next("joined");
  }

  /** Messages received after the last consumed one, without consuming them. */
  pending(): ServerMessage[] {
    return this.received.slice(this.#cursor);
  }

  /** Round-trips a ping so that every message the server sent before it has arrived. */
  async sync(): Promise<void> {
    const t = Math.random();
    this.send({ type: "ping", t });
    const before = this.#cursor;
    await this.next("pong", (message) => message.t === t);
    // Put back everything but the pong: sync must not consume what the test wants to look at.
    const pongIndex = this.#cursor - 1;
    this.received.splice(pongIndex, 1);
    this.#cursor = before;
  }

  /** Closes the socket cleanly and waits for the close. */
  async close(): Promise<void> {
    if (this.closeCode === undefined) {
      this.socket.close();
      await this.closed;
    }
  }
}

/**
 * Cuts `client`'s TCP connection without a close frame (the server sees 1006, as on network loss)
 * and waits until `server` has noticed, so that what a test does next finds the session suspended.
 */
export async function cutAndAwaitServer(client: TestClient, server: { connectionCount(): number } | undefined): Promise<void> {
  const before = server?.connectionCount() ?? 0;
  client.socket.terminate();
  await client.closed;
  const deadline = Date.now() + EXPECT_TIMEOUT_MS;
  while ((server?.connectionCount() ?? 0) >= before) {
    if (Date.now() > deadline) {
      throw new Error("the server did not notice the cut connection");
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
