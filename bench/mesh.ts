/**
 * Mesh benchmark (`npm run bench:mesh`): rooms of 2, 4, 6 and 8 headless peers on loopback
 * against a server running in a separate child process, so that the server's CPU and the peers'
 * CPU are measured apart. Prints one JSON document on stdout; progress goes to stderr.
 *
 * Per room size it measures, over several repetitions:
 * - formation: every peer joins at once; time from each peer's `join()` to having all the others
 *   connected (data channel open), and this process's CPU per peer to get there;
 * - newcomer: one peer joins a settled room of size - 1; time until it is connected to everyone;
 * - video: a room with synthetic video forms (once per size), then is held for a few seconds;
 *   CPU per peer (encoding and decoding dominate) and frames decoded per directed pair per second.
 *
 * Flags: `--repetitions N` (default 5), `--sizes 2,4,6,8`, `--video-seconds S` (default 3).
 */
import { fork } from "node:child_process";
import { createRequire } from "node:module";
import os from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startServer } from "../server/server.ts";
import { HeadlessPeer, distribution, settleWebRtc, type Distribution } from "../client/headless/peers.ts";

/** Messages from the server child to the bench. */
type FromServer = { type: "listening"; wsUrl: string } | { type: "cpu"; userMs: number; systemMs: number };

/** Bound on any one room forming; a room that does not form fails the benchmark. */
const FORMATION_DEADLINE_MS = 30_000;

/** Child mode: run the server until the parent asks for its CPU time and disconnects. */
async function serveForParent(): Promise<void> {
  const server = await startServer({ host: "127.0.0.1", port: 0, iceServers: [], roomCapacity: 8 });
  const send = (message: FromServer): void => {
    process.send?.(message);
  };
  process.on("message", (message: { type: "cpu" }) => {
    if (message.type === "cpu") {
      const cpu = process.cpuUsage();
      send({ type: "cpu", userMs: Math.round(cpu.user / 1000), systemMs: Math.round(cpu.system / 1000) });
    }
  });
  process.on("disconnect", () => {
    void server.close().then(() => process.exit(0));
  });
  send({ type: "listening", wsUrl: server.wsUrl });
}

interface ServerChild {
  wsUrl: string;
  cpu(): Promise<{ userMs: number; systemMs: number }>;
  stop(): void;
}

/** Starts this file in server mode in a child process. */
async function startServerChild(): Promise<ServerChild> {
  const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const child = fork(fileURLToPath(import.meta.url), ["--serve"], { execArgv: ["--import", tsxLoader], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const next = (type: FromServer["type"]): Promise<FromServer> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: FromServer): void => {
        if (message.type === type) {
          child.off("message", onMessage);
          child.off("exit", onExit);
          resolve(message);
        }
      };
      const onExit = (): void => reject(new Error("the server child exited"));
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
  const listening = await next("listening");
  if (listening.type !== "listening") {
    throw new Error("unexpected message from the server child");
  }
  return {
    wsUrl: listening.wsUrl,
    async cpu() {
      const reply = next("cpu");
      child.send({ type: "cpu" });
      const message = await reply;
      return message.type === "cpu" ? { userMs: message.userMs, systemMs: message.systemMs } : { userMs: 0, systemMs: 0 };
    },
    stop() {
      child.disconnect();
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + FORMATION_DEADLINE_MS;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`benchmark: ${what} did not happen within ${FORMATION_DEADLINE_MS} ms`);
    }
    await sleep(5);
  }
}

function fullyConnected(peers: readonly HeadlessPeer[]): boolean {
  return peers.every((peer) => peer.joinToFullyConnectedMs !== undefined);
}

let roomCounter = 0;

function newPeers(url: string, size: number, video: boolean): HeadlessPeer[] {
  roomCounter += 1;
  const room = `bench-${process.pid}-${roomCounter}`;
  return Array.from({ length: size }, (_, index) => new HeadlessPeer({ url, room, username: `p${index + 1}`, expectedRemotes: size - 1, video }));
}

async function closeAll(peers: readonly HeadlessPeer[]): Promise<void> {
  for (const peer of peers) {
    peer.leave();
  }
  await settleWebRtc();
}

/** Every peer joins at once; returns each peer's join→fully-connected time and CPU ms per peer. */
async function formation(url: string, size: number): Promise<{ times: number[]; cpuMsPerPeer: number }> {
  const peers = newPeers(url, size, false);
  const cpuStart = process.cpuUsage();
  try {
    await Promise.all(peers.map((peer) => peer.join()));
    await waitUntil(() => fullyConnected(peers), `a room of ${size} forming`);
    const cpu = process.cpuUsage(cpuStart);
    return {
      times: peers.flatMap((peer) => peer.joinToFullyConnectedMs ?? []),
      cpuMsPerPeer: (cpu.user + cpu.system) / 1000 / size,
    };
  } finally {
    await closeAll(peers);
  }
}

/** One peer joins a settled room of `size - 1`; returns its join→fully-connected time. */
async function newcomer(url: string, size: number): Promise<number> {
  const room = newPeers(url, size, false);
  const [last] = room.splice(size - 1, 1);
  if (!last) {
    throw new Error("size must be at least 1");
  }
  try {
    await Promise.all(room.map((peer) => peer.join()));
    await waitUntil(() => room.every((peer) => peer.connectedPeerIds().length === size - 2), `a room of ${size - 1} forming`);
    await sleep(200);
    await last.join();
    await waitUntil(() => fullyConnected([last]), `a newcomer joining a room of ${size - 1}`);
    return last.joinToFullyConnectedMs ?? Number.NaN;
  } finally {
    await closeAll([...room, last]);
  }
}

/**
 * A room with synthetic video: its formation time, then, held for `seconds`, CPU per peer and
 * frames decoded per directed pair per second.
 */
async function videoRoom(
  url: string,
  size: number,
  seconds: number,
): Promise<{ joinToFullyConnectedMs: Percentiles; cpuPercentPerPeer: number; framesPerPairPerSecond: number }> {
  const peers = newPeers(url, size, true);
  try {
    await Promise.all(peers.map((peer) => peer.join()));
    await waitUntil(() => fullyConnected(peers), `a video room of ${size} forming`);
    await sleep(500);
    const framesBefore = totalFrames(peers);
    const cpuStart = process.cpuUsage();
    const startMs = performance.now();
    await sleep(seconds * 1000);
    const cpu = process.cpuUsage(cpuStart);
    const elapsedS = (performance.now() - startMs) / 1000;
    const directedPairs = size * (size - 1);
    return {
      joinToFullyConnectedMs: pick(distribution(peers.flatMap((peer) => peer.joinToFullyConnectedMs ?? []))),
      cpuPercentPerPeer: round(((cpu.user + cpu.system) / 1000 / (elapsedS * 1000)) * 100 / size),
      framesPerPairPerSecond: directedPairs === 0 ? 0 : round((totalFrames(peers) - framesBefore) / directedPairs / elapsedS),
    };
  } finally {
    await closeAll(peers);
  }
}

function totalFrames(peers: readonly HeadlessPeer[]): number {
  let frames = 0;
  for (const receiver of peers) {
    for (const sender of peers) {
      if (sender !== receiver && sender.id !== undefined) {
        frames += receiver.framesFrom(sender.id);
      }
    }
  }
  return frames;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** The percentiles the benchmark prints. */
type Percentiles = { p50: number; p99: number; max: number; samples: number } | null;

function pick(stats: Distribution | null): Percentiles {
  return stats ? { p50: stats.p50, p99: stats.p99, max: stats.max, samples: stats.count } : null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repetitions: { type: "string", default: "5" },
      sizes: { type: "string", default: "2,4,6,8" },
      "video-seconds": { type: "string", default: "3" },
    },
  });
  const repetitions = Number(values.repetitions);
  const sizes = values.sizes.split(",").map(Number);
  const videoSeconds = Number(values["video-seconds"]);
  const server = await startServerChild();
  const results = [];
  try {
    // One unmeasured room first: loading the WebRTC library and warming the JIT is not joining.
    await formation(server.wsUrl, 2);
    const serverCpuAtStart = await server.cpu();
    let joins = 0;
    for (const size of sizes) {
      const formationTimes: number[] = [];
      const cpuPerPeer: number[] = [];
      const newcomerTimes: number[] = [];
      for (let repetition = 1; repetition <= repetitions; repetition += 1) {
        process.stderr.write(`bench:mesh size ${size} repetition ${repetition}/${repetitions}\n`);
        const formed = await formation(server.wsUrl, size);
        formationTimes.push(...formed.times);
        cpuPerPeer.push(formed.cpuMsPerPeer);
        newcomerTimes.push(await newcomer(server.wsUrl, size));
        joins += 2 * size;
      }
      joins += size;
      process.stderr.write(`bench:mesh size ${size} video ${videoSeconds} s\n`);
      results.push({
        peers: size,
        formation: {
          joinToFullyConnectedMs: pick(distribution(formationTimes)),
          cpuMsPerPeer: pick(distribution(cpuPerPeer)),
        },
        newcomer: { joinToFullyConnectedMs: pick(distribution(newcomerTimes)) },
        video: await videoRoom(server.wsUrl, size, videoSeconds),
      });
    }
    const serverCpuAtEnd = await server.cpu();
    const serverCpuMs = serverCpuAtEnd.userMs + serverCpuAtEnd.systemMs - serverCpuAtStart.userMs - serverCpuAtStart.systemMs;
    const cpus = os.cpus();
    process.stdout.write(`${JSON.stringify({
      benchmark: "mesh",
      machine: { cpus: cpus.length, model: cpus[0]?.model ?? "unknown", node: process.version, platform: `${os.platform()} ${os.arch()}` },
      server: { process: "separate child process", url: server.wsUrl, joins, cpuMs: serverCpuMs, cpuMsPerJoin: round(serverCpuMs / Math.max(1, joins)) },
      repetitions,
      results,
    }, null, 2)}\n`);
  } finally {
    server.stop();
  }
}

if (process.argv.includes("--serve")) {
  await serveForParent();
} else {
  await main();
  // An RTCVideoSource existed (the video runs), and @roamhq/wrtc then crashes during Node's own
  // teardown (node-webrtc#636); exiting explicitly skips it. The report is already written.
  process.exit(0);
}
