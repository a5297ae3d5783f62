/**
 * A real `redis-server` (Debian package `redis-server`) for the cluster tests: no TCP port, a unix
 * socket in a fresh temporary directory, nothing saved to disk.
 *
 * ```ts
 * const hasRedis = requireRedis();
 * describe.skipIf(!hasRedis)("across nodes", () => {
 *   let redis: RunningRedis;
 *   beforeAll(async () => { redis = await startRedis(); });
 *   afterAll(() => redis.stop());
 *   // webrtc-room serve --redis-url redis.url
 * });
 * ```
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { requireBinary } from "./system-binary.ts";

/** Where Debian installs the server. */
export const REDIS_SERVER_PATH = "/usr/bin/redis-server";

/** How long {@link startRedis} waits for the server to accept connections. */
const READY_TIMEOUT_MS = 10_000;

/** True when redis-server is installed; otherwise skips with the install command (fails under CI=true). */
export function requireRedis(): boolean {
  return requireBinary("redis-server", REDIS_SERVER_PATH, "apt-get install -y redis-server");
}

/** A running redis-server. */
export interface RunningRedis {
  /** What `--redis-url` takes: the unix socket's path. */
  readonly url: string;
  /** A client for the test's own look at the keys (closed by {@link stop}). */
  readonly client: Redis;
  /** Everything the server printed so far. */
  log(): string;
  /** Kills the server (SIGKILL): every client sees its connection drop, and Redis is unreachable. */
  kill(): Promise<void>;
  /** Starts a new, empty server on the same socket after {@link kill}. */
  restart(): Promise<void>;
  /** Stops the server and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

/** A redis-server process on `socketPath`, once it accepts connections. */
async function spawnRedis(directory: string, socketPath: string): Promise<{ child: ChildProcess; output: () => string; exited: Promise<void> }> {
  const child: ChildProcess = spawn(REDIS_SERVER_PATH, ["--port", "0", "--unixsocket", socketPath, "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", directory], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Never left running behind a failed start.
      child.kill("SIGKILL");
      reject(new Error(`redis-server did not start within ${READY_TIMEOUT_MS} ms:\n${output}`));
    }, READY_TIMEOUT_MS);
    const onData = (): void => {
      if (/ready to accept connections/i.test(output)) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited before it was ready:\n${output}`));
    });
  });
  return { child, output: () => output, exited };
}

/** Starts redis-server on a unix socket in a new temporary directory and waits until it answers. */
export async function startRedis(): Promise<RunningRedis> {
  const directory = await mkdtemp(join(tmpdir(), "wr-redis-"));
  const socketPath = join(directory, "redis.sock");
  let server = await spawnRedis(directory, socketPath);
  const client = new Redis(socketPath, { maxRetriesPerRequest: 1 });
  // The tests kill the server on purpose: the test's own client reconnects without a word.
  client.on("error", () => undefined);
  let stopped: Promise<void> | undefined;
  return {
    url: socketPath,
    client,
    log: () => server.output(),
    async kill() {
      server.child.kill("SIGKILL");
      await server.exited;
    },
    async restart() {
      server = await spawnRedis(directory, socketPath);
    },
    stop() {
      stopped ??= (async () => {
        client.disconnect();
        if (server.child.exitCode === null && server.child.signalCode === null) {
          server.child.kill("SIGTERM");
          await server.exited;
        }
        await rm(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
