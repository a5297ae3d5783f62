/**
 * A cluster for the tests: real `webrtc-room serve` processes (the compiled CLI) sharing one real
 * redis-server, each on its own ephemeral port.
 */
import { startServeProcess, type ServeProcess } from "../support/serve-process.ts";
import type { RunningRedis } from "../support/redis.ts";
import { TestClient } from "../support/ws-client.ts";

/** One running node. */
export interface TestNode {
  readonly process: ServeProcess;
  readonly wsUrl: string;
  readonly httpUrl: string;
  /** Connects a raw client to this node. */
  connect(): Promise<TestClient>;
  /** Kills the process without a goodbye (SIGKILL) and waits for it to be gone. */
  kill(): Promise<void>;
  /** Stops the process as an operator would (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts `count` nodes on `redis`, each with `args` after `--redis-url` (room capacity, grace…). */
export async function startNodes(redis: RunningRedis, count: number, args: readonly string[] = []): Promise<TestNode[]> {
  const processes = await Promise.all(
    Array.from({ length: count }, (_, index) => startServeProcess(["--redis-url", redis.url, "--node-id", `node${index + 1}-${process.pid}`, ...args])),
  );
  return processes.map((served) => {
    const httpUrl = `http://127.0.0.1:${served.port}`;
    const wsUrl = `ws://127.0.0.1:${served.port}/ws`;
    return {
      process: served,
      wsUrl,
      httpUrl,
      connect: () => TestClient.connect(wsUrl),
      async kill() {
        served.child.kill("SIGKILL");
        await served.exited;
      },
      async stop() {
        if (served.child.exitCode === null && served.child.signalCode === null) {
          served.child.kill("SIGTERM");
        }
        await served.exited;
      },
    };
  });
}

/** Stops every node still running. */
export async function stopNodes(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.stop()));
}

/** Joins `room` on `node` as `username`; the client and its `joined`. */
export async function joinOn(node: TestNode, room: string, username: string): Promise<{ client: TestClient; id: string; resumeToken: string }> {
  const client = await node.connect();
  const joined = await client.join(room, username);
  return { client, id: joined.id, resumeToken: joined.resumeToken };
}

/** A candidate message numbered `index`, to tell relayed messages apart. */
export function numberedCandidate(targetId: string, index: number): { type: "new_candidate"; targetId: string; ice: { candidate: string; sdpMid: string; sdpMLineIndex: number } } {
  return { type: "new_candidate", targetId, ice: { candidate: `candidate:${index} 1 udp 2122260223 192.0.2.1 ${10_000 + index} typ host`, sdpMid: "0", sdpMLineIndex: 0 } };
}

/** The number in a candidate made by {@link numberedCandidate}. */
export function candidateNumber(candidate: string): number {
  return Number(/^candidate:(\d+) /.exec(candidate)?.[1] ?? Number.NaN);
}

/** How `new_user` on `client` ended: `joined`, or the refusal's code (waits through round trips, at most 100). */
export async function joinOutcome(client: TestClient): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    for (const message of client.received) {
      if (message.type === "joined") {
        return "joined";
      }
      if (message.type === "error" && message.refType === "new_user") {
        return message.code;
      }
    }
    await client.sync();
  }
  throw new Error(`no answer to new_user; got ${JSON.stringify(client.received.map((message) => message.type))}`);
}
