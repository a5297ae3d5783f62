/**
 * `npm run bench:presence`: what a burst of calls costs everyone else, with presence coalesced
 * (`presenceWindowMs`, default 50) against the fan-out without coalescing (`presenceWindowMs: -1`,
 * one frame per change, as before coalescing), measured side by side in one run. Prints JSON.
 *
 * Each round starts a fresh server process and logs in `USERS` users: in a child process five
 * callers, five targets and a crowd of passive clients (all only count frames), and here a few
 * pingers. Then every caller spends its whole message burst (`messageBurst`, 200) on alternate
 * `call` / `stopCall` messages at its own target, in two scenarios: `burst` (all at once) and `paced`
 * (at the sustained rate, so that rings span presence windows and coalescing cannot cancel them
 * all out). Each is measured until the server has gone quiet:
 * - bystander ping round trip (p50, p99): the pingers send `ping {t}` every `PING_INTERVAL_MS`
 *   (closed loop, see {@link runRound});
 * - server resident memory growth: the server's peak resident size during the burst (Linux
 *   `VmHWM`, reset just before; `/metrics` samples elsewhere) minus its size before;
 * - frames per caller message: every frame every client received during the burst, divided by the
 *   messages the callers sent;
 * - server CPU time over the burst, which tells the server's own cost from the machine's load.
 *
 * Environment: `BENCH_ROUNDS` (3), `BENCH_USERS` (300), `BENCH_PRESENCE_WINDOW_MS` (50),
 * `BENCH_MODES` (`uncoalesced,coalesced`), `BENCH_SERVER_PROF=<dir>` (a CPU profile of each server).
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFile, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const USERS = Number(process.env.BENCH_USERS ?? 300);
const CALLERS = 5;
const PINGERS = 3;
/** The server's default `messageBurst`: what a caller may send at once without being refused. */
const MESSAGE_BURST = 200;
const PING_INTERVAL_MS = 20;
/** Messages per caller in the warm-up burst, outside the measured window. */
const WARM_UP_MESSAGES = MESSAGE_BURST;
/** The burst is over once no client has received a frame for this long. */
const QUIET_MS = 500;

type Mode = "uncoalesced" | "coalesced";

/** Both by default; `BENCH_MODES=coalesced` measures one side alone (no ratios then). */
const MODES: readonly Mode[] = (process.env.BENCH_MODES?.split(",") as Mode[] | undefined) ?? ["uncoalesced", "coalesced"];

interface Server {
  process: ChildProcess;
  httpUrl: string;
  wsUrl: string;
}

async function startServerProcess(mode: Mode): Promise<Server> {
  // Every bench client is 127.0.0.1, where a real crowd comes from 300 addresses: the per-address
  // login and call limits are lifted so that presence alone is measured (its worst case).
  const perAddress = {
    maxConnectionsPerAddress: 1_000_000, upgradesPerSecondPerAddress: 1_000_000, upgradeBurstPerAddress: 1_000_000,
    loginsPerSecondPerAddress: 1_000_000, loginBurstPerAddress: 1_000_000, callsPerSecondPerAddress: 1_000_000, callBurstPerAddress: 1_000_000,
  };
  const overrides = { ...perAddress, host: "127.0.0.1", port: 0, iceServers: [], presenceWindowMs: mode === "coalesced" ? Number(process.env.BENCH_PRESENCE_WINDOW_MS ?? 50) : -1 };
  const child = spawn(process.execPath, [...(process.env.BENCH_SERVER_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_SERVER_PROF] : []), "--import", "tsx", "bench/presence-server.ts", JSON.stringify(overrides)], { stdio: ["ignore", "pipe", "inherit"] });
  child.stdout.setEncoding("utf8");
  return new Promise<Server>((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
      const match = /listening on https?:\/\/[^:]+:(\d+)\//.exec(output);
      if (match) {
        resolve({ process: child, httpUrl: `http://127.0.0.1:${match[1]}`, wsUrl: `ws://127.0.0.1:${match[1]}/ws` });
      }
    });
    child.once("exit", () => reject(new Error(`server exited before listening: ${output}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null) {
    child.kill("SIGTERM");
    await once(child, "exit");
  }
}

/** Resident size and CPU time (user + system) of the server from its `/metrics`. */
async function readMetrics(server: Server): Promise<{ rssBytes: number; cpuSeconds: number }> {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return { rssBytes: read("process_resident_memory_bytes"), cpuSeconds: read("process_cpu_user_seconds_total") + read("process_cpu_system_seconds_total") };
}

/** `VmRSS` / `VmHWM` of `pid` in bytes, or undefined off Linux. */
async function procMemory(pid: number): Promise<{ rss: number; peak: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: kib("VmRSS"), peak: kib("VmHWM") };
  } catch {
    return undefined;
  }
}

/** Resets the peak resident size of `pid` to its current size (Linux `clear_refs` 5); false when not possible. */
async function resetPeak(pid: number): Promise<boolean> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** A logged-in client of this process; counts its frames, pongs left out, without parsing them. */
interface Client {
  socket: WebSocket;
  userID: string;
  frames: number;
  presenceFrames: number;
  /** Called with each pong's round trip. */
  onPong?: (rttMs: number) => void;
}

async function logIn(url: string, userID: string, onPong?: (text: string) => void): Promise<Client> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await once(socket, "open");
  const client: Client = { socket, userID, frames: 0, presenceFrames: 0 };
  const snapshot = new Promise<void>((resolve) => {
    socket.on("message", (data: WebSocket.RawData) => {
      const text = data.toString();
      if (text.startsWith('{"type":"pong"')) {
        onPong?.(text);
        return;
      }
      client.frames += 1;
      if (text.startsWith('{"type":"presence')) {
        client.presenceFrames += 1;
      }
      if (text.startsWith('{"type":"presence",')) {
        resolve();
      }
    });
  });
  socket.send(JSON.stringify({ type: "login", userID }));
  await snapshot;
  return client;
}

/** The crowd child: passive logged-in clients counting frames. */
class Crowd {
  readonly #child: ChildProcess;
  #waiters: Array<(message: Record<string, number>) => void> = [];

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on("message", (message: Record<string, number>) => {
      this.#waiters.shift()?.(message);
    });
  }

  static async start(url: string, passive: number, callers: number): Promise<Crowd> {
    const child = fork("bench/presence-crowd.ts", [url, String(passive), String(callers)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const crowd = new Crowd(child);
    const ready = await crowd.#next();
    if (ready.ready !== passive + 2 * callers) {
      throw new Error(`crowd logged in ${ready.ready} of ${passive + 2 * callers}`);
    }
    return crowd;
  }

  #next(): Promise<Record<string, number>> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Zeroes the crowd's frame counts, or reads them. */
  async request(op: "reset" | "count"): Promise<{ count: number; presence: number }> {
    const answer = this.#next();
    this.#child.send({ op });
    const { count = 0, presence = 0 } = await answer;
    return { count, presence };
  }

  /** Has every caller send `messages` messages, spread over `spreadMs`; resolves once all are sent. */
  async burst(messages: number, spreadMs: number): Promise<number> {
    const answer = this.#next();
    this.#child.send({ op: "burst", messages, spreadMs });
    return (await answer).sent ?? 0;
  }

  async close(): Promise<void> {
    this.#child.send({ op: "close" });
    await once(this.#child, "exit");
  }
}

interface RoundFigures {
  pings: number;
  pingP50Ms: number;
  pingP99Ms: number;
  pingMaxMs: number;
  rssGrowthMiB: number;
  framesPerCallerMessage: number;
  totalFrames: number;
  /** The presence part of `totalFrames`; the rest is the call family (`incomingCall`, `incomingCallStopped`). */
  presenceFrames: number;
  burstMs: number;
  /** Server CPU time over the burst and the quiet time after it (which costs next to nothing). */
  serverCpuMs: number;
}

/** How the callers send their `MESSAGE_BURST` messages each. */
const SCENARIOS = {
  /** All at once: the whole allowed burst in one go. */
  burst: 0,
  /** At the sustained rate (`messagesPerSecond`, 50): a call, 20 ms later its stopCall, and so on. */
  paced: (MESSAGE_BURST / 50) * 1000,
} as const;

type Scenario = keyof typeof SCENARIOS;

/** One server process, one crowd, then each scenario in turn. */
async function runRound(mode: Mode): Promise<Record<Scenario, RoundFigures>> {
  const server = await startServerProcess(mode);
  let crowd: Crowd | undefined;
  const pingers: Client[] = [];
  try {
    const url = server.wsUrl;
    crowd = await Crowd.start(url, USERS - 2 * CALLERS - PINGERS, CALLERS);
    /** [sent at, round trip] of every ping answered. */
    const pings: Array<[number, number]> = [];
    for (let index = 0; index < PINGERS; index += 1) {
      const pinger = await logIn(url, `pinger-${index}`, (text) => {
        const sentAt = (JSON.parse(text) as { t: number }).t;
        const rttMs = performance.now() - sentAt;
        pings.push([sentAt, rttMs]);
        pinger.onPong?.(rttMs);
      });
      pingers.push(pinger);
    }
    // Warm-up: a burst compiles the call path, as on a server that has been up a while. Its frames
    // must have drained before anything is measured (without coalescing that takes seconds).
    await crowd.request("reset");
    const warmUpMessages = await crowd.burst(WARM_UP_MESSAGES, 0);
    await untilQuiet(crowd, [], warmUpMessages);
    // Closed loop: a pinger's next ping leaves PING_INTERVAL_MS after the previous one, or when its
    // pong arrives if that is later. A stalled server therefore gets one ping per pinger, not a
    // queue of them that its rate limit would refuse (and the stall is sampled once, so the
    // uncoalesced figures are if anything flattering).
    let pinging = true;
    const ping = (pinger: Client): void => {
      if (pinging) {
        pinger.socket.send(JSON.stringify({ type: "ping", t: performance.now() }));
      }
    };
    for (const pinger of pingers) {
      pinger.onPong = (rttMs) => setTimeout(() => ping(pinger), Math.max(0, PING_INTERVAL_MS - rttMs));
      ping(pinger);
    }
    try {
      const figures: Partial<Record<Scenario, RoundFigures>> = {};
      for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
        // The callers' buckets refill to a full burst (50 tokens/s).
        await sleep((MESSAGE_BURST / 50) * 1000 + 1000);
        figures[scenario] = await measure(server, crowd, pingers, pings, SCENARIOS[scenario]);
      }
      return figures as Record<Scenario, RoundFigures>;
    } finally {
      pinging = false;
    }
  } finally {
    for (const pinger of pingers) {
      pinger.socket.terminate();
    }
    await crowd?.close();
    await stop(server.process);
  }
}

/**
 * Waits until the crowd has received at least `callFrames` frames other than presence (one per
 * caller message reaches its target: every caller message has been handled) and then no client has
 * received a frame for `QUIET_MS` (pongs aside). Resolves with the frame counts since the last reset
 * and when the last frame arrived. `poll` runs every 100 ms meanwhile.
 */
async function untilQuiet(crowd: Crowd, pingers: Client[], callFrames: number, poll?: () => Promise<void>): Promise<{ total: number; presenceTotal: number; lastChangeAt: number }> {
  let total = -1;
  let presenceTotal = 0;
  let lastChangeAt = performance.now();
  for (;;) {
    await sleep(100);
    await poll?.();
    const counts = await crowd.request("count");
    const now = counts.count + pingers.reduce((sum, client) => sum + client.frames, 0);
    presenceTotal = counts.presence + pingers.reduce((sum, client) => sum + client.presenceFrames, 0);
    if (now !== total || counts.count - counts.presence < callFrames) {
      total = now;
      lastChangeAt = performance.now();
    } else if (performance.now() - lastChangeAt >= QUIET_MS) {
      return { total, presenceTotal, lastChangeAt };
    }
  }
}

/** Has the callers send their messages (over `spreadMs`) and measures until every client is quiet. */
async function measure(server: Server, crowd: Crowd, pingers: Client[], pings: Array<[number, number]>, spreadMs: number): Promise<RoundFigures> {
  for (const pinger of pingers) {
    pinger.frames = 0;
    pinger.presenceFrames = 0;
  }
  await crowd.request("reset");
  const pid = server.process.pid ?? 0;
  // Peak reset first, so that the peak read after the burst starts from the size read here.
  const peakReset = await resetPeak(pid);
  const metricsBefore = await readMetrics(server);
  const rssBefore = (await procMemory(pid))?.rss ?? metricsBefore.rssBytes;
  let sampledPeak = rssBefore;
  const startedAt = performance.now();
  const sent = await crowd.burst(MESSAGE_BURST, spreadMs);
  const { total, presenceTotal, lastChangeAt } = await untilQuiet(crowd, pingers, sent, async () => {
    if (!peakReset) {
      sampledPeak = Math.max(sampledPeak, (await readMetrics(server)).rssBytes);
    }
  });
  const peak = peakReset ? ((await procMemory(pid))?.peak ?? sampledPeak) : sampledPeak;
  const metricsAfter = await readMetrics(server);
  // The pings sent during the burst, from the first caller message to the last frame it caused.
  const rtts = pings.filter(([sentAt]) => sentAt >= startedAt && sentAt <= lastChangeAt).map(([, rtt]) => rtt).sort((a, b) => a - b);
  return {
    pings: rtts.length,
    pingP50Ms: round(percentile(rtts, 0.5)),
    pingP99Ms: round(percentile(rtts, 0.99)),
    pingMaxMs: round(rtts.at(-1) ?? Number.NaN),
    rssGrowthMiB: round((peak - rssBefore) / 1024 / 1024),
    framesPerCallerMessage: round(total / sent),
    totalFrames: total,
    presenceFrames: presenceTotal,
    burstMs: Math.round(lastChangeAt - startedAt),
    serverCpuMs: Math.round((metricsAfter.cpuSeconds - metricsBefore.cpuSeconds) * 1000),
  };
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** `value / baseline` to three significant digits (the ratios here span several orders of magnitude). */
function ratio(value: number, baseline: number): number {
  return Number((value / baseline).toPrecision(3));
}

function summarize(rounds: RoundFigures[]): RoundFigures {
  const of = (key: keyof RoundFigures): number => round(median(rounds.map((figures) => figures[key])));
  return {
    pings: of("pings"),
    pingP50Ms: of("pingP50Ms"),
    pingP99Ms: of("pingP99Ms"),
    pingMaxMs: of("pingMaxMs"),
    rssGrowthMiB: of("rssGrowthMiB"),
    framesPerCallerMessage: of("framesPerCallerMessage"),
    totalFrames: of("totalFrames"),
    presenceFrames: of("presenceFrames"),
    burstMs: of("burstMs"),
    serverCpuMs: of("serverCpuMs"),
  };
}

async function main(): Promise<void> {
  const results: Record<Mode, Array<Record<Scenario, RoundFigures>>> = { uncoalesced: [], coalesced: [] };
  for (let index = 0; index < ROUNDS; index += 1) {
    for (const mode of index % 2 === 0 ? MODES : [...MODES].reverse()) {
      results[mode].push(await runRound(mode));
      process.stderr.write(`round ${index + 1}/${ROUNDS} ${mode}: ${JSON.stringify(results[mode].at(-1))}\n`);
    }
  }
  const scenarios = Object.fromEntries((Object.keys(SCENARIOS) as Scenario[]).map((scenario) => {
    const uncoalesced = summarize(results.uncoalesced.map((round) => round[scenario]));
    const coalesced = summarize(results.coalesced.map((round) => round[scenario]));
    return [scenario, {
      spreadMs: SCENARIOS[scenario],
      uncoalesced,
      coalesced,
      ratios: {
        pingP99: ratio(coalesced.pingP99Ms, uncoalesced.pingP99Ms),
        rssGrowth: ratio(coalesced.rssGrowthMiB, uncoalesced.rssGrowthMiB),
        framesPerCallerMessage: ratio(coalesced.framesPerCallerMessage, uncoalesced.framesPerCallerMessage),
      },
    }];
  }));
  const report = {
    benchmark: "presence",
    node: process.version,
    rounds: ROUNDS,
    users: USERS,
    callers: CALLERS,
    callerMessages: CALLERS * MESSAGE_BURST,
    presenceWindowMs: Number(process.env.BENCH_PRESENCE_WINDOW_MS ?? 50),
    ...scenarios,
    targets: {
      pingP99Ms: "coalesced < 50",
      rssGrowthMiB: "coalesced < 20",
      framesPerCallerMessage: "coalesced < 0.1 × uncoalesced",
    },
  };
  console.log(JSON.stringify(report, null, 2));
}

await main();
