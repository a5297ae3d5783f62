/**
 * A real coturn (`/usr/bin/turnserver`, Debian package `coturn`) on loopback for the TURN tests,
 * configured like production (`use-auth-secret`, the TURN REST API scheme of `server/turn.ts`) but
 * with loopback peers allowed, no TLS and a private relay port range.
 *
 * ```ts
 * const hasCoturn = requireCoturn();
 * describe.skipIf(!hasCoturn)("through TURN", () => {
 *   let turn: RunningCoturn;
 *   beforeAll(async () => { turn = await startCoturn({ secret: "s3cret" }); });
 *   afterAll(() => turn.stop());
 *   // startServer({ turnUrls: [turn.url], turnSecret: "s3cret", … })
 * });
 * ```
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { createSocket } from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary } from "./system-binary.ts";

/** Where Debian installs coturn's server binary. */
export const TURNSERVER_PATH = "/usr/bin/turnserver";

/** Realm the test coturn authenticates in (any value works with `use-auth-secret`). */
export const TEST_TURN_REALM = "webrtc-room.test";

/** How long {@link startCoturn} waits for coturn to answer a STUN binding request. */
const READY_TIMEOUT_MS = 10_000;

/** Relay ports per coturn instance: plenty for a few test allocations. */
const RELAY_PORT_COUNT = 200;

/**
 * True when coturn is installed. Otherwise skips with the install command, or fails when
 * `CI=true` (see {@link requireBinary}).
 */
export function requireCoturn(): boolean {
  return requireBinary("coturn (turnserver)", TURNSERVER_PATH, "apt-get install -y coturn");
}

/** Options of {@link startCoturn}. */
export interface CoturnOptions {
  /** coturn's `static-auth-secret`: the same value goes to the server's `turnSecret`. */
  secret: string;
}

/** A running coturn. */
export interface RunningCoturn {
  /** UDP TURN URL to hand out, e.g. `turn:127.0.0.1:41234?transport=udp`. */
  readonly url: string;
  /** Listening port (UDP and TCP). */
  readonly port: number;
  /** Everything coturn printed so far (for failure messages). */
  log(): string;
  /**
   * Freezes coturn (SIGSTOP): its sockets stay open but nothing is relayed or answered, so packets
   * to it vanish as on a network gone dark, with no ICMP "port unreachable" that would tell ICE the
   * path is gone. {@link stop} still works afterwards.
   */
  pause(): void;
  /** Stops coturn and removes its config; safe to call twice. */
  stop(): Promise<void>;
}

/** A port that is free for both UDP and TCP on 127.0.0.1 right now (coturn listens on both). */
async function freeListeningPort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket("udp4");
      socket.once("error", () => resolve(false));
      socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
    });
    if (udpFree) {
      return port;
    }
  }
}

/** A STUN Binding request (RFC 5389): type 0x0001, length 0, magic cookie, random transaction id. */
function stunBindingRequest(): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0001, 0);
  header.writeUInt16BE(0, 2);
  header.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(header, 8);
  return header;
}

/** True once something on `port` answers a STUN binding request with a binding success response. */
function answersStun(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (answered: boolean): void => {
      clearTimeout(timer);
      socket.close();
      resolve(answered);
    };
    socket.once("error", () => finish(false));
    socket.on("message", (data) => finish(data.length >= 20 && data.readUInt16BE(0) === 0x0101));
    socket.send(stunBindingRequest(), port, "127.0.0.1");
  });
}

/**
 * Starts coturn on a free loopback port with a private relay range and waits until it answers STUN.
 * The secret goes through a config file readable by this user only, as it should in production
 * (a `--static-auth-secret` flag would show in `ps`).
 */
export async function startCoturn(options: CoturnOptions): Promise<RunningCoturn> {
  const port = await freeListeningPort();
  // A random relay range, so that several test files (and a developer's own coturn) rarely collide;
  // coturn skips relay ports that are taken anyway.
  const minPort = randomInt(20_000, 60_000 - RELAY_PORT_COUNT);
  const directory = await mkdtemp(join(tmpdir(), "webrtc-room-coturn-"));
  const configFile = join(directory, "turnserver.conf");
  await writeFile(
    configFile,
    [
      `listening-ip=127.0.0.1`,
      `relay-ip=127.0.0.1`,
      `listening-port=${port}`,
      `min-port=${minPort}`,
      `max-port=${minPort + RELAY_PORT_COUNT - 1}`,
      `use-auth-secret`,
      `static-auth-secret=${options.secret}`,
      `realm=${TEST_TURN_REALM}`,
      // Loopback only in tests: production configs keep `no-loopback-peers` (docs/turn.md).
      `allow-loopback-peers`,
      `no-cli`,
      `no-tls`,
      `no-dtls`,
      `no-multicast-peers`,
      `pidfile=${join(directory, "turnserver.pid")}`,
      `log-file=stdout`,
      `simple-log`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );

  let output = "";
  const child: ChildProcess = spawn(TURNSERVER_PATH, ["-c", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exitedEarly) {
        // A paused coturn handles SIGTERM only once it runs again.
        child.kill("SIGCONT");
        child.kill("SIGTERM");
        const killTimer = setTimeout(() => child.kill("SIGKILL"), 3_000);
        await exited;
        clearTimeout(killTimer);
      }
      await rm(directory, { recursive: true, force: true });
    })();
    return stopping;
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answersStun(port, 200))) {
    if (exitedEarly || Date.now() > deadline) {
      await stop();
      throw new Error(`coturn did not answer STUN on 127.0.0.1:${port} within ${READY_TIMEOUT_MS} ms${exitedEarly ? " (it exited)" : ""}; its log:\n${output}`);
    }
  }
  const pause = (): void => {
    if (!exitedEarly) {
      child.kill("SIGSTOP");
    }
  };
  return { url: `turn:127.0.0.1:${port}?transport=udp`, port, log: () => output, pause, stop };
}
