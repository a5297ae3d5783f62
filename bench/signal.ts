/**
 * `npm run bench:signal`: signaling server cost against a bare uWebSockets.js relay (the floor),
 * measured side by side in one run from this separate process over loopback. Prints JSON.
 *
 * - relay: server CPU microseconds per relayed `send_offer` (~4 KB SDP) and `new_candidate`
 *   (~250 B), message rate, and p50/p99 relay latency, floor and server alternating per round;
 * - memory: resident memory per idle joined connection at 5 000 connections, against a settled
 *   baseline (see {@link idleMemoryRound}).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PAIRS = 8;
const WINDOW_PER_PAIR = 16;
const OFFERS_PER_ROUND = Number(process.env.BENCH_OFFERS ?? 20_000);
const CANDIDATES_PER_ROUND = Number(process.env.BENCH_CANDIDATES ?? 60_000);
const IDLE_CONNECTIONS = Number(process.env.BENCH_IDLE_CONNECTIONS ?? 5_000);
/**
 * Quiet time before the baseline resident size is read: a freshly started process holds start-up
 * garbage (module loading, compilation) that V8's memory reducer frees some 8 to 17 s later, and a
 * baseline taken before that is several MB too high.
 */
const BASELINE_SETTLE_MS = Number(process.env.BENCH_BASELINE_SETTLE_MS ?? 20_000);
/** Quiet time after the last join before the resident size with every connection is read. */
const IDLE_SETTLE_MS = Number(process.env.BENCH_IDLE_SETTLE_MS ?? 5_000);
/** Resident size readings per measurement, a second apart; their median is used. */
const MEMORY_SAMPLES = 5;
const ROOM_SIZE = 8;

type Target = "floor" | "server";

interface Child {
  process: ChildProcess;
  httpUrl: string;
  wsUrl: string;
}

async function startChild(target: Target): Promise<Child> {
  const args = target === "floor"
    ? ["--import", "tsx", "bench/floor-relay.ts"]
    : ["bin/webrtc-room.js", "serve", "--host", "127.0.0.1", "--port", "0", "--stun", "", "--messages-per-second", "1000000", "--message-burst", "1000000", "--max-backpressure-bytes", "16777216",
      // Every bench client is 127.0.0.1: lift the per-address limits that protect a real server.
      "--max-connections-per-address", "1000000", "--upgrades-per-second-per-address", "1000000", "--upgrade-burst-per-address", "1000000"];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  child.stdout.setEncoding("utf8");
  // Keep draining stdout for the child's whole life: a closed pipe would fail its shutdown log.
  return new Promise<Child>((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
      const match = /listening on https?:\/\/[^:]+:(\d+)\//.exec(output);
      if (match) {
        const port = match[1];
        resolve({ process: child, httpUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws` });
      }
    });
    child.once("exit", () => reject(new Error(`${target} exited before listening: ${output}`)));
  });
}

async function stopChild(child: Child): Promise<void> {
  child.process.kill("SIGTERM");
  await once(child.process, "exit");
}

async function readProcessStats(child: Child): Promise<{ cpuSeconds: number; rssBytes: number }> {
  const text = await (await fetch(`${child.httpUrl}/metrics`)).text();
  const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return { cpuSeconds: read("process_cpu_user_seconds_total") + read("process_cpu_system_seconds_total"), rssBytes: read("process_resident_memory_bytes") };
}

async function openSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await once(socket, "open");
  return socket;
}

/** Waits for the next message on `socket` that satisfies `accept`. */
async function nextMessage(socket: WebSocket, accept: (message: { type: string; [key: string]: unknown }) => boolean): Promise<{ type: string; [key: string]: unknown }> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData): void => {
      const message = JSON.parse(data.toString()) as { type: string };
      if (accept(message)) {
        socket.off("message", onMessage);
        resolve(message);
      }
    };
    socket.on("message", onMessage);
  });
}

interface Pair {
  sender: WebSocket;
  receiver: WebSocket;
  receiverId: string;
}

/** Opens `PAIRS` sender/receiver pairs; on the server each pair shares its own room. */
async function openPairs(target: Target, child: Child): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (let index = 0; index < PAIRS; index += 1) {
    const sender = await openSocket(child.wsUrl);
    const receiver = await openSocket(child.wsUrl);
    let receiverId = "floor";
    if (target === "server") {
      sender.send(JSON.stringify({ type: "new_user", room: `bench-${index}`, username: "sender" }));
      await nextMessage(sender, (message) => message.type === "connection_list");
      receiver.send(JSON.stringify({ type: "new_user", room: `bench-${index}`, username: "receiver" }));
      // The receiver's own connection_list names it as newUserId.
      receiverId = String((await nextMessage(receiver, (message) => message.type === "connection_list")).newUserId);
    }
    pairs.push({ sender, receiver, receiverId });
  }
  return pairs;
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

interface RelayFigures {
  cpuMicrosPerMessage: number;
  messagesPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

/**
 * Sends `total` messages spread over the pairs, each pair keeping at most `WINDOW_PER_PAIR` in
 * flight. The send time rides inside the payload so latency needs no server cooperation.
 */
async function measureRelay(child: Child, pairs: Pair[], total: number, frame: (targetId: string, sentAt: number) => string, sentAtOf: (message: { [key: string]: unknown }) => number): Promise<RelayFigures> {
  const perPair = Math.ceil(total / pairs.length);
  const latencies: number[] = [];
  const before = await readProcessStats(child);
  const startedAt = performance.now();
  await Promise.all(pairs.map(({ sender, receiver, receiverId }) => new Promise<void>((resolve) => {
    let sent = 0;
    let received = 0;
    const pump = (): void => {
      while (sent < perPair && sent - received < WINDOW_PER_PAIR) {
        sender.send(frame(receiverId, performance.now()));
        sent += 1;
      }
    };
    const onMessage = (data: WebSocket.RawData): void => {
      latencies.push(performance.now() - sentAtOf(JSON.parse(data.toString()) as { [key: string]: unknown }));
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
  const after = await readProcessStats(child);
  latencies.sort((a, b) => a - b);
  const messages = perPair * pairs.length;
  return {
    cpuMicrosPerMessage: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / messages,
    messagesPerSecond: messages / elapsedSeconds,
    latencyP50Ms: percentile(latencies, 0.5),
    latencyP99Ms: percentile(latencies, 0.99),
  };
}

const SDP_BODY = `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n${"a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\na=fmtp:97 apt=96\r\n".repeat(42)}`.slice(0, 4000);
const CANDIDATE = "candidate:842163049 1 udp 1677729535 203.0.113.7 54321 typ srflx raddr 192.168.1.20 rport 54321 generation 0 ufrag 4ZcD network-cost 999";

const offerFrame = (targetId: string, sentAt: number): string =>
  JSON.stringify({ type: "send_offer", targetId, sdp: { type: "offer", sdp: `${sentAt}\n${SDP_BODY}` } });
const offerSentAt = (message: { [key: string]: unknown }): number => Number.parseFloat((message.sdp as { sdp: string }).sdp);
const candidateFrame = (targetId: string, sentAt: number): string =>
  JSON.stringify({ type: "new_candidate", targetId, ice: { candidate: CANDIDATE, sdpMid: String(sentAt), sdpMLineIndex: 0 } });
const candidateSentAt = (message: { [key: string]: unknown }): number => Number.parseFloat(String((message.ice as { sdpMid: string }).sdpMid));

async function relayRound(target: Target): Promise<{ offer: RelayFigures; candidate: RelayFigures }> {
  const child = await startChild(target);
  try {
    const pairs = await openPairs(target, child);
    // Warm-up: JIT and buffers, outside the measured window, for both message kinds (optimizing the
    // candidate path would otherwise be charged to the candidate figures).
    await measureRelay(child, pairs, 2_000, offerFrame, offerSentAt);
    await measureRelay(child, pairs, 2_000, candidateFrame, candidateSentAt);
    const offer = await measureRelay(child, pairs, OFFERS_PER_ROUND, offerFrame, offerSentAt);
    const candidate = await measureRelay(child, pairs, CANDIDATES_PER_ROUND, candidateFrame, candidateSentAt);
    for (const pair of pairs) {
      pair.sender.terminate();
      pair.receiver.terminate();
    }
    return { offer, candidate };
  } finally {
    await stopChild(child);
  }
}

/** Median resident size over `MEMORY_SAMPLES` samples a second apart, after `settleMs` of quiet. */
async function settledRssBytes(child: Child, settleMs: number): Promise<number> {
  await sleep(settleMs);
  const samples: number[] = [];
  for (let index = 0; index < MEMORY_SAMPLES; index += 1) {
    samples.push((await readProcessStats(child)).rssBytes);
    await sleep(1_000);
  }
  return median(samples);
}

/**
 * Resident memory per idle connection; on the server every connection has joined a room. Both
 * readings are medians of several samples taken after a quiet period: the baseline once start-up
 * garbage has been collected (otherwise it inflates the baseline and flatters the result), the
 * final one once the joins are over. Floor and server are measured the same way.
 */
async function idleMemoryRound(target: Target): Promise<{ bytesPerConnection: number; connections: number }> {
  const child = await startChild(target);
  const sockets: WebSocket[] = [];
  try {
    const before = await settledRssBytes(child, BASELINE_SETTLE_MS);
    const BATCH = 250;
    for (let start = 0; start < IDLE_CONNECTIONS; start += BATCH) {
      const batch = await Promise.all(Array.from({ length: Math.min(BATCH, IDLE_CONNECTIONS - start) }, () => openSocket(child.wsUrl)));
      if (target === "server") {
        await Promise.all(batch.map((socket, offset) => {
          const joined = nextMessage(socket, (message) => message.type === "joined" || message.type === "error");
          socket.send(JSON.stringify({ type: "new_user", room: `idle-${Math.floor((start + offset) / ROOM_SIZE)}`, username: `idle-${start + offset}` }));
          return joined.then((message) => {
            if (message.type !== "joined") {
              throw new Error(`join refused: ${JSON.stringify(message)}`);
            }
          });
        }));
      }
      sockets.push(...batch);
    }
    const after = await settledRssBytes(child, IDLE_SETTLE_MS);
    return { bytesPerConnection: (after - before) / sockets.length, connections: sockets.length };
  } finally {
    for (const socket of sockets) {
      socket.terminate();
    }
    await stopChild(child);
  }
}

function summarize(rounds: RelayFigures[]): RelayFigures {
  return {
    cpuMicrosPerMessage: round(median(rounds.map((r) => r.cpuMicrosPerMessage))),
    messagesPerSecond: Math.round(median(rounds.map((r) => r.messagesPerSecond))),
    latencyP50Ms: round(median(rounds.map((r) => r.latencyP50Ms))),
    latencyP99Ms: round(median(rounds.map((r) => r.latencyP99Ms))),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

async function main(): Promise<void> {
  const results: Record<Target, Array<{ offer: RelayFigures; candidate: RelayFigures }>> = { floor: [], server: [] };
  for (let index = 0; index < ROUNDS; index += 1) {
    for (const target of index % 2 === 0 ? (["floor", "server"] as const) : (["server", "floor"] as const)) {
      results[target].push(await relayRound(target));
      process.stderr.write(`relay round ${index + 1}/${ROUNDS} ${target} done\n`);
    }
  }
  const memory = { floor: await idleMemoryRound("floor"), server: await idleMemoryRound("server") };
  process.stderr.write("idle memory done\n");
  const floorOffer = summarize(results.floor.map((r) => r.offer));
  const serverOffer = summarize(results.server.map((r) => r.offer));
  const floorCandidate = summarize(results.floor.map((r) => r.candidate));
  const serverCandidate = summarize(results.server.map((r) => r.candidate));
  const report = {
    benchmark: "signal",
    node: process.version,
    rounds: ROUNDS,
    pairs: PAIRS,
    windowPerPair: WINDOW_PER_PAIR,
    sendOffer: {
      sdpBytes: SDP_BODY.length,
      messagesPerRound: OFFERS_PER_ROUND,
      floor: floorOffer,
      server: serverOffer,
      cpuRatio: round(serverOffer.cpuMicrosPerMessage / floorOffer.cpuMicrosPerMessage),
      target: "cpuRatio <= 1.3",
    },
    newCandidate: {
      messagesPerRound: CANDIDATES_PER_ROUND,
      floor: floorCandidate,
      server: serverCandidate,
      cpuRatio: round(serverCandidate.cpuMicrosPerMessage / floorCandidate.cpuMicrosPerMessage),
      target: "cpuRatio <= 1.3",
    },
    idleMemory: {
      connections: memory.server.connections,
      floorBytesPerConnection: Math.round(memory.floor.bytesPerConnection),
      serverBytesPerJoinedConnection: Math.round(memory.server.bytesPerConnection),
      target: "serverBytesPerJoinedConnection <= 2560",
    },
  };
  console.log(JSON.stringify(report, null, 2));
}

await main();
