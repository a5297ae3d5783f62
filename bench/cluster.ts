/**
 * `npm run bench:cluster`: what running several nodes on Redis costs, against the single node in
 * memory, in one run from this separate process over loopback. Prints JSON.
 *
 * - relay: `new_candidate` (~250 B) and `send_offer` (~4 KB SDP) on three paths: the single node
 *   in memory (`memory`), two sockets on one node of a cluster (`sameNode`: the transport's fast
 *   path) and two sockets on two nodes (`crossNode`: relay script, inbox stream, wake, read). For
 *   each: p50/p99 latency, messages per second, node CPU microseconds per message (both nodes
 *   together for `crossNode`) and Redis CPU microseconds per message, under load and one message
 *   at a time;
 * - join: `new_user` → `joined` latency on a cluster, rooms of four spread over two nodes.
 *
 * Needs `redis-server` (Debian package `redis-server`); it starts its own on a unix socket.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import WebSocket from "ws";

const PAIRS = 8;
const WINDOW_PER_PAIR = 16;
const CANDIDATES = Number(process.env.BENCH_CANDIDATES ?? 20_000);
const OFFERS = Number(process.env.BENCH_OFFERS ?? 5_000);
const JOINS = Number(process.env.BENCH_JOINS ?? 400);
/** Messages relayed one at a time (the next sent when the last arrived), for latency without queueing. */
const ONE_AT_A_TIME = Number(process.env.BENCH_ONE_AT_A_TIME ?? 2_000);
const REDIS_SERVER = process.env.REDIS_SERVER ?? "/usr/bin/redis-server";

interface Node {
  process: ChildProcess;
  httpUrl: string;
  wsUrl: string;
}

/** Starts `webrtc-room serve` with the bench's lifted limits and `extra` flags. */
async function startNode(extra: readonly string[]): Promise<Node> {
  const args = ["bin/webrtc-room.js", "serve", "--host", "127.0.0.1", "--port", "0", "--stun", "", "--messages-per-second", "1000000", "--message-burst", "1000000",
    "--max-backpressure-bytes", "16777216", "--max-connections-per-address", "1000000", "--upgrades-per-second-per-address", "1000000", "--upgrade-burst-per-address", "1000000",
    "--room-capacity", "64", ...extra];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  child.stdout.setEncoding("utf8");
  return new Promise<Node>((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
      const match = /listening on https?:\/\/[^:]+:(\d+)\//.exec(output);
      if (match) {
        resolve({ process: child, httpUrl: `http://127.0.0.1:${match[1]}`, wsUrl: `ws://127.0.0.1:${match[1]}/ws` });
      }
    });
    child.once("exit", () => reject(new Error(`node exited before listening: ${output}`)));
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    await once(child, "exit");
  }
}

/** A redis-server on a unix socket in a temporary directory, with a client to read its CPU. */
async function startRedis(): Promise<{ url: string; cpuSeconds(): Promise<number>; stop(): Promise<void> }> {
  const directory = await mkdtemp(join(tmpdir(), "wr-bench-redis-"));
  const socketPath = join(directory, "redis.sock");
  const child = spawn(REDIS_SERVER, ["--port", "0", "--unixsocket", socketPath, "--save", "", "--appendonly", "no", "--dir", directory], { stdio: ["ignore", "pipe", "inherit"] });
  child.stdout.setEncoding("utf8");
  await new Promise<void>((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
      if (/ready to accept connections/i.test(output)) {
        resolve();
      }
    });
    child.once("error", reject);
    child.once("exit", () => reject(new Error(`redis-server exited: ${output}`)));
  });
  const client = new Redis(socketPath);
  return {
    url: socketPath,
    async cpuSeconds() {
      const info = await client.info("cpu");
      const read = (name: string): number => Number(new RegExp(`^${name}:(\\S+)`, "m").exec(info)?.[1] ?? Number.NaN);
      return read("used_cpu_user") + read("used_cpu_sys");
    },
    async stop() {
      client.disconnect();
      await stopProcess(child);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

async function nodeCpuSeconds(node: Node): Promise<number> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
  const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return read("process_cpu_user_seconds_total") + read("process_cpu_system_seconds_total");
}

async function openSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await once(socket, "open");
  return socket;
}

type Message = { type: string; [key: string]: unknown };

function nextMessage(socket: WebSocket, accept: (message: Message) => boolean): Promise<Message> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData): void => {
      const message = JSON.parse(data.toString()) as Message;
      if (accept(message)) {
        socket.off("message", onMessage);
        resolve(message);
      }
    };
    socket.on("message", onMessage);
  });
}

/** Joins `room` on `socket`; resolves with its id once its own `connection_list` came. */
async function joinRoom(socket: WebSocket, room: string, username: string): Promise<string> {
  const listed = nextMessage(socket, (message) => message.type === "connection_list" || message.type === "error");
  socket.send(JSON.stringify({ type: "new_user", room, username }));
  // The first list a newcomer gets is the one announcing it.
  const message = await listed;
  if (message.type === "error") {
    throw new Error(`join refused: ${JSON.stringify(message)}`);
  }
  return String(message.newUserId);
}

interface Pair {
  sender: WebSocket;
  receiver: WebSocket;
  receiverId: string;
}

/** `PAIRS` pairs, each in its own room: the sender on `senderNode`, the receiver on `receiverNode`. */
async function openPairs(label: string, senderNode: Node, receiverNode: Node): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (let index = 0; index < PAIRS; index += 1) {
    const sender = await openSocket(senderNode.wsUrl);
    const receiver = await openSocket(receiverNode.wsUrl);
    const room = `${label}-${index}`;
    await joinRoom(sender, room, "sender");
    const receiverId = await joinRoom(receiver, room, "receiver");
    pairs.push({ sender, receiver, receiverId });
  }
  return pairs;
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

interface RelayFigures {
  latencyP50Ms: number;
  latencyP99Ms: number;
  messagesPerSecond: number;
  nodeCpuMicrosPerMessage: number;
  redisCpuMicrosPerMessage: number;
}

/** `total` messages over the pairs, at most `window` in flight per pair; the send time rides in the payload. */
async function measure(nodes: readonly Node[], redisCpu: () => Promise<number>, pairs: Pair[], total: number, frame: (targetId: string, sentAt: number) => string, sentAtOf: (message: Message) => number, window = WINDOW_PER_PAIR): Promise<RelayFigures> {
  const perPair = Math.ceil(total / pairs.length);
  const latencies: number[] = [];
  const cpuBefore = await Promise.all(nodes.map(nodeCpuSeconds));
  const redisBefore = await redisCpu();
  const startedAt = performance.now();
  await Promise.all(pairs.map(({ sender, receiver, receiverId }) => new Promise<void>((resolve) => {
    let sent = 0;
    let received = 0;
    const pump = (): void => {
      while (sent < perPair && sent - received < window) {
        sender.send(frame(receiverId, performance.now()));
        sent += 1;
      }
    };
    const onMessage = (data: WebSocket.RawData): void => {
      const message = JSON.parse(data.toString()) as Message;
      if (message.type !== "new_candidate" && message.type !== "send_offer") {
        return;
      }
      latencies.push(performance.now() - sentAtOf(message));
      received += 1;
      if (received === perPair) {
        receiver.off("message", onMessage);
        resolve();
      } else {
        pump();
      }
    };
    receiver.on("message", onMessage);
    pump();
  })));
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  const cpuAfter = await Promise.all(nodes.map(nodeCpuSeconds));
  const redisAfter = await redisCpu();
  latencies.sort((a, b) => a - b);
  const messages = perPair * pairs.length;
  const nodeSeconds = cpuAfter.reduce((total, value, index) => total + value - (cpuBefore[index] ?? 0), 0);
  return {
    latencyP50Ms: round(percentile(latencies, 0.5)),
    latencyP99Ms: round(percentile(latencies, 0.99)),
    messagesPerSecond: Math.round(messages / elapsedSeconds),
    nodeCpuMicrosPerMessage: round((nodeSeconds * 1e6) / messages),
    redisCpuMicrosPerMessage: round(((redisAfter - redisBefore) * 1e6) / messages),
  };
}

const SDP_BODY = `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n${"a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\na=fmtp:97 apt=96\r\n".repeat(42)}`.slice(0, 4000);
const CANDIDATE = "candidate:842163049 1 udp 1677729535 203.0.113.7 54321 typ srflx raddr 192.168.1.20 rport 54321 generation 0 ufrag 4ZcD network-cost 999";
const candidateFrame = (targetId: string, sentAt: number): string => JSON.stringify({ type: "new_candidate", targetId, ice: { candidate: CANDIDATE, sdpMid: String(sentAt), sdpMLineIndex: 0 } });
const candidateSentAt = (message: Message): number => Number.parseFloat(String((message.ice as { sdpMid: string }).sdpMid));
const offerFrame = (targetId: string, sentAt: number): string => JSON.stringify({ type: "send_offer", targetId, sdp: { type: "offer", sdp: `${sentAt}\n${SDP_BODY}` } });
const offerSentAt = (message: Message): number => Number.parseFloat((message.sdp as { sdp: string }).sdp);

/**
 * Both message kinds on `pairs`, after a warm-up outside the measure: under load (`PAIRS` pairs,
 * `WINDOW_PER_PAIR` in flight each: throughput and CPU, latency with queueing) and one at a time
 * on one pair (`oneAtATime`: the latency of a relay itself).
 */
async function relayFigures(nodes: readonly Node[], redisCpu: () => Promise<number>, pairs: Pair[]): Promise<{ newCandidate: RelayFigures; sendOffer: RelayFigures; oneAtATime: { newCandidate: RelayFigures; sendOffer: RelayFigures } }> {
  await measure(nodes, redisCpu, pairs, 2_000, candidateFrame, candidateSentAt);
  await measure(nodes, redisCpu, pairs, 500, offerFrame, offerSentAt);
  const newCandidate = await measure(nodes, redisCpu, pairs, CANDIDATES, candidateFrame, candidateSentAt);
  const sendOffer = await measure(nodes, redisCpu, pairs, OFFERS, offerFrame, offerSentAt);
  const single = pairs.slice(0, 1);
  const oneAtATime = {
    newCandidate: await measure(nodes, redisCpu, single, ONE_AT_A_TIME, candidateFrame, candidateSentAt, 1),
    sendOffer: await measure(nodes, redisCpu, single, ONE_AT_A_TIME, offerFrame, offerSentAt, 1),
  };
  for (const pair of pairs) {
    pair.sender.terminate();
    pair.receiver.terminate();
  }
  return { newCandidate, sendOffer, oneAtATime };
}

/** `JOINS` joins into rooms of four, alternating between the two nodes: `new_user` → `joined`. */
async function joinLatency(one: Node, two: Node): Promise<{ joins: number; p50Ms: number; p99Ms: number }> {
  const latencies: number[] = [];
  const sockets: WebSocket[] = [];
  for (let index = 0; index < JOINS; index += 1) {
    const socket = await openSocket((index % 2 === 0 ? one : two).wsUrl);
    sockets.push(socket);
    const joined = nextMessage(socket, (message) => message.type === "joined" || message.type === "error");
    const startedAt = performance.now();
    socket.send(JSON.stringify({ type: "new_user", room: `join-${Math.floor(index / 4)}`, username: `joiner-${index}` }));
    const message = await joined;
    if (message.type !== "joined") {
      throw new Error(`join refused: ${JSON.stringify(message)}`);
    }
    latencies.push(performance.now() - startedAt);
  }
  for (const socket of sockets) {
    socket.terminate();
  }
  latencies.sort((a, b) => a - b);
  return { joins: JOINS, p50Ms: round(percentile(latencies, 0.5)), p99Ms: round(percentile(latencies, 0.99)) };
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const noRedis = async (): Promise<number> => 0;
  try {
    const memoryNode = await startNode([]);
    const memory = await relayFigures([memoryNode], noRedis, await openPairs("memory", memoryNode, memoryNode));
    await stopProcess(memoryNode.process);
    process.stderr.write("memory done\n");

    const one = await startNode(["--redis-url", redis.url, "--node-id", "bench-1"]);
    const two = await startNode(["--redis-url", redis.url, "--node-id", "bench-2"]);
    try {
      const sameNode = await relayFigures([one], () => redis.cpuSeconds(), await openPairs("same", one, one));
      process.stderr.write("same node done\n");
      const crossNode = await relayFigures([one, two], () => redis.cpuSeconds(), await openPairs("cross", one, two));
      process.stderr.write("cross node done\n");
      const joins = await joinLatency(one, two);
      const ratio = (kind: "newCandidate" | "sendOffer"): number => round(sameNode[kind].nodeCpuMicrosPerMessage / memory[kind].nodeCpuMicrosPerMessage);
      console.log(JSON.stringify({
        benchmark: "cluster",
        node: process.version,
        pairs: PAIRS,
        windowPerPair: WINDOW_PER_PAIR,
        messages: { newCandidate: CANDIDATES, sendOffer: OFFERS },
        memory,
        sameNode,
        crossNode,
        sameNodeCpuRatio: { newCandidate: ratio("newCandidate"), sendOffer: ratio("sendOffer"), target: "<= 1.1" },
        crossNodeTarget: "oneAtATime latencyP99Ms < 5",
        joinAcrossTwoNodes: joins,
      }, null, 2));
    } finally {
      await Promise.all([stopProcess(one.process), stopProcess(two.process)]);
    }
  } finally {
    await redis.stop();
  }
}

await main();
