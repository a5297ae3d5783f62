/**
 * Browser join benchmark (`npm run bench:browser`): rooms of Chromium pages (Debian's chromium
 * through playwright-core, fake camera and microphone) on one machine against a real server on an
 * ephemeral port. Prints one JSON document on stdout; progress goes to stderr.
 *
 * Every page mounts a `<webrtc-room>` and records, relative to that moment (the "join click"), the
 * stages of its join: camera granted (`getUserMedia` resolved), `joined` (the element's
 * `connection-state`), first offer sent and received (`send_offer` on its WebSocket), ICE connected
 * (per peer connection) and first frame decoded (per peer connection: `inbound-rtp` video
 * `framesDecoded > 0`), and "all frames": a frame decoded from every other page. An init script does
 * the recording inside the page, with `performance.now()`, so the bench's own round trips do not
 * count.
 *
 * Two measurements, each over several repetitions:
 * - rooms of 2, 4 and 6 pages that all join at once: p50 and max of every stage over all pages;
 * - the newcomer to a settled room of 4: four pages decode each other, then a fifth joins; the time
 *   from its join click to decoding all four (the goal is under 1 s at p50 on a 2-core machine).
 *
 * Before and after, side by side: `--baseline REF` builds the bundle of git revision REF (e.g.
 * `main`, or the revision a branch started from) into a temporary folder, and the pages of the `baseline` variant load it instead of the
 * current one (the server is the same). The two variants alternate, repetition by repetition, so
 * that both see the same load on the machine. `--label` tags the run (e.g. `after`).
 *
 * Flags: `--sizes 2,4,6`, `--repetitions N` (rooms per size, default 3), `--newcomers N`
 * (newcomers per variant, default 7), `--baseline REF`, `--label TEXT`, `--skip-rooms`.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, realpath, rm, symlink } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Browser, Page } from "playwright-core";
import { buildBundle } from "../scripts/build.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import { launchChromium, openPage } from "../test/support/chromium.ts";
import { LOOPBACK_TEST_LIMITS } from "../test/support/loopback-limits.ts";
import { distribution } from "../client/headless/peers.ts";

const ROOT_DIR = fileURLToPath(new URL("../", import.meta.url));

/** Bound on one room forming or one newcomer decoding everyone; a miss fails the benchmark. */
const ROOM_DEADLINE_MS = 120_000;

/** How often the page looks for a first decoded frame on a connection that has none yet. */
const FRAME_POLL_INTERVAL_MS = 20;

/** The size of the settled room a newcomer joins. */
const SETTLED_ROOM_SIZE = 4;

/** What the init script records in a page, in `performance.now()` milliseconds. */
interface JoinRecord {
  /** When the element was mounted: every stage is measured from here. */
  startMs: number | undefined;
  cameraMs: number | undefined;
  joinedMs: number | undefined;
  offerSentMs: number[];
  offerReceivedMs: number[];
  /** One entry per `RTCPeerConnection` the page made, in creation order. */
  connections: Array<{ iceConnectedMs: number | undefined; firstFrameMs: number | undefined; closed: boolean }>;
}

/** The stages of one page's join, in ms from its mount. */
interface PageStages {
  cameraMs: number | undefined;
  joinedMs: number | undefined;
  firstOfferSentMs: number | undefined;
  firstOfferReceivedMs: number | undefined;
  /** Per peer connection. */
  iceConnectedMs: number[];
  /** Per peer connection. */
  firstFrameMs: number[];
  /** A frame decoded from every other page. */
  allFramesMs: number | undefined;
}

/**
 * Runs in every page before its scripts: records the join stages in `window.__joinBench`. It is
 * serialized into the page, so it is self-contained, and its helpers are object methods: tsx
 * wraps named arrow functions in a `__name()` helper that does not exist in the page.
 */
function recordJoinStages(pollIntervalMs: number): void {
  const record: JoinRecord = { startMs: undefined, cameraMs: undefined, joinedMs: undefined, offerSentMs: [], offerReceivedMs: [], connections: [] };
  Object.defineProperty(window, "__joinBench", { value: record });
  const watched: Array<{ connection: RTCPeerConnection; entry: JoinRecord["connections"][number] }> = [];
  const tools = {
    /** How many `send_offer` a WebSocket frame holds (a frame may be one message or a batch). */
    offersIn(text: unknown): number {
      if (typeof text !== "string" || !text.includes("send_offer")) {
        return 0;
      }
      const parsed: unknown = JSON.parse(text);
      const messages: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
      return messages.filter((message) => (message as { type?: unknown } | null)?.type === "send_offer").length;
    },
    /** Asks the connections whose ICE is up and that decoded nothing yet: cheap once settled. */
    async pollFrames(): Promise<void> {
      const pending = watched.filter(({ entry }) => entry.iceConnectedMs !== undefined && entry.firstFrameMs === undefined && !entry.closed);
      await Promise.all(
        pending.map(async ({ connection, entry }) => {
          const stats = await connection.getStats();
          for (const report of stats.values()) {
            if (report.type === "inbound-rtp" && report.kind === "video" && report.framesDecoded > 0) {
              entry.firstFrameMs ??= performance.now();
            }
          }
        }),
      );
    },
  };

  const devices = navigator.mediaDevices;
  const getUserMedia = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    record.cameraMs ??= performance.now();
    return stream;
  };

  const NativeSocket = window.WebSocket;
  window.WebSocket = class extends NativeSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener("message", (event: MessageEvent) => {
        for (let offer = tools.offersIn(event.data); offer > 0; offer -= 1) {
          record.offerReceivedMs.push(performance.now());
        }
      });
    }
    override send(data: Parameters<WebSocket["send"]>[0]): void {
      for (let offer = tools.offersIn(data); offer > 0; offer -= 1) {
        record.offerSentMs.push(performance.now());
      }
      super.send(data);
    }
  };

  const NativeConnection = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativeConnection {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      const entry: JoinRecord["connections"][number] = { iceConnectedMs: undefined, firstFrameMs: undefined, closed: false };
      record.connections.push(entry);
      watched.push({ connection: this, entry });
      this.addEventListener("iceconnectionstatechange", () => {
        const state = this.iceConnectionState;
        if (state === "connected" || state === "completed") {
          entry.iceConnectedMs ??= performance.now();
        }
      });
    }
    override close(): void {
      for (const item of watched) {
        if (item.connection === this) {
          item.entry.closed = true;
        }
      }
      super.close();
    }
  };

  let polling = false;
  setInterval(() => {
    if (!polling) {
      polling = true;
      void tools.pollFrames().finally(() => {
        polling = false;
      });
    }
  }, pollIntervalMs);
}

/** How a variant's pages get their bundle: the current build, or a baseline's `dist/`. */
interface Variant {
  name: string;
  /** A `dist/` folder to serve `/assets/*.js` (entry and chunks) from instead of the server's. */
  distDir: string | undefined;
}

/** Opens a page of the server with the recorder and the variant's bundle loaded. */
async function preparePage(browser: Browser, baseUrl: string, variant: Variant): Promise<Page> {
  const page = await openPage(browser);
  await page.addInitScript(recordJoinStages, FRAME_POLL_INTERVAL_MS);
  const distDir = variant.distDir;
  if (distDir !== undefined) {
    await page.route(/\/assets\/[^/]+\.js$/, async (route) => {
      const name = new URL(route.request().url()).pathname.split("/").pop() ?? "";
      try {
        await route.fulfill({ contentType: "text/javascript", body: await readFile(join(distDir, name)) });
      } catch (error) {
        process.stderr.write(`bench:browser: cannot serve the baseline's ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
        await route.abort().catch(() => undefined);
      }
    });
  }
  // A page of the server itself (a routed page would be refused local network access), on
  // `localhost` (a secure context for `getUserMedia`); it does nothing until its form is used.
  await page.goto(`${baseUrl}/embed-example.html`);
  await page.addScriptTag({ url: "/assets/webrtc-room.js", type: "module" });
  await page.evaluate(() => customElements.whenDefined("webrtc-room"));
  return page;
}

/** Mounts `<webrtc-room>` in `page` (the join click): the clock of every stage starts here. */
async function mountRoom(page: Page, room: string, name: string): Promise<void> {
  await page.evaluate(
    ({ room, name }) => {
      const record = (window as unknown as { __joinBench: JoinRecord }).__joinBench;
      const element = document.createElement("webrtc-room");
      element.setAttribute("room", room);
      element.setAttribute("name", name);
      element.style.height = "600px";
      element.addEventListener("connection-state", (event) => {
        if ((event as CustomEvent<{ state: string }>).detail.state === "joined") {
          record.joinedMs ??= performance.now();
        }
      });
      record.startMs = performance.now();
      document.body.replaceChildren(element);
    },
    { room, name },
  );
}

/** Waits until `page` decoded a frame on `count` open connections; a miss says what the page saw. */
async function waitForFrames(page: Page, count: number): Promise<void> {
  try {
    await page.waitForFunction(
      (expected) => (window as unknown as { __joinBench: JoinRecord }).__joinBench.connections.filter((entry) => !entry.closed && entry.firstFrameMs !== undefined).length >= expected,
      count,
      { timeout: ROOM_DEADLINE_MS, polling: 100 },
    );
  } catch (error) {
    const seen = await page.evaluate(() => ({
      state: document.querySelector("webrtc-room")?.state,
      record: (window as unknown as { __joinBench: JoinRecord }).__joinBench,
    }));
    throw new Error(`no frame from ${count} others within ${ROOM_DEADLINE_MS} ms: ${JSON.stringify(seen)}`, { cause: error });
  }
}

/** Waits until `page` holds exactly `count` open connections (a leaver's is closed). */
async function waitForOpenConnections(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    (expected) => (window as unknown as { __joinBench: JoinRecord }).__joinBench.connections.filter((entry) => !entry.closed).length === expected,
    count,
    { timeout: ROOM_DEADLINE_MS, polling: 100 },
  );
}

/** The stages of `page`'s join, from the connections still open (those of the current room). */
async function stagesOf(page: Page, others: number): Promise<PageStages> {
  const record = await page.evaluate(() => (window as unknown as { __joinBench: JoinRecord }).__joinBench);
  const start = record.startMs ?? 0;
  const since = (value: number | undefined): number | undefined => (value === undefined ? undefined : Math.round(value - start));
  const open = record.connections.filter((entry) => !entry.closed);
  const frames = open.flatMap((entry) => since(entry.firstFrameMs) ?? []);
  return {
    cameraMs: since(record.cameraMs),
    joinedMs: since(record.joinedMs),
    firstOfferSentMs: since(record.offerSentMs[0]),
    firstOfferReceivedMs: since(record.offerReceivedMs[0]),
    iceConnectedMs: open.flatMap((entry) => since(entry.iceConnectedMs) ?? []),
    firstFrameMs: frames,
    allFramesMs: frames.length >= others ? Math.max(...frames) : undefined,
  };
}

/** p50 and max of every stage over `pages`. */
function summarize(pages: readonly PageStages[]): Record<string, { count: number; p50: number; max: number } | null> {
  const pick = (samples: number[]): { count: number; p50: number; max: number } | null => {
    const result = distribution(samples);
    return result === null ? null : { count: result.count, p50: result.p50, max: result.max };
  };
  const each = (stage: (page: PageStages) => number | undefined): number[] => pages.flatMap((page) => stage(page) ?? []);
  return {
    cameraMs: pick(each((page) => page.cameraMs)),
    joinedMs: pick(each((page) => page.joinedMs)),
    firstOfferSentMs: pick(each((page) => page.firstOfferSentMs)),
    firstOfferReceivedMs: pick(each((page) => page.firstOfferReceivedMs)),
    iceConnectedPerPairMs: pick(pages.flatMap((page) => page.iceConnectedMs)),
    firstFramePerPairMs: pick(pages.flatMap((page) => page.firstFrameMs)),
    allFramesMs: pick(each((page) => page.allFramesMs)),
  };
}

/** Closes `pages` and waits until the server has let every one of their sockets go. */
async function closePages(pages: readonly Page[], server: RunningServer, remaining = 0): Promise<void> {
  await Promise.all(pages.map((page) => page.close()));
  const deadline = Date.now() + ROOM_DEADLINE_MS;
  while (server.connectionCount() > remaining && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `size` pages join `room` at once; returns every page's stages. */
async function formRoom(browser: Browser, server: RunningServer, baseUrl: string, variant: Variant, room: string, size: number): Promise<PageStages[]> {
  const pages = await Promise.all(Array.from({ length: size }, () => preparePage(browser, baseUrl, variant)));
  try {
    await Promise.all(pages.map((page, index) => mountRoom(page, room, `P${index + 1}`)));
    await Promise.all(pages.map((page) => waitForFrames(page, size - 1)));
    return await Promise.all(pages.map((page) => stagesOf(page, size - 1)));
  } finally {
    await closePages(pages, server);
  }
}

/**
 * A room of {@link SETTLED_ROOM_SIZE} forms and settles; then `count` newcomers join it one after
 * the other (each leaves before the next comes). Returns each newcomer's stages.
 */
async function newcomers(browser: Browser, server: RunningServer, baseUrl: string, variant: Variant, room: string, count: number): Promise<PageStages[]> {
  const settled: Page[] = [];
  const results: PageStages[] = [];
  try {
    for (let index = 0; index < SETTLED_ROOM_SIZE; index += 1) {
      settled.push(await preparePage(browser, baseUrl, variant));
    }
    // One after the other, each once it decodes those before it: the room a newcomer meets.
    for (const [index, page] of settled.entries()) {
      await mountRoom(page, room, `S${index + 1}`);
      await waitForFrames(page, index);
    }
    await Promise.all(settled.map((page) => waitForFrames(page, SETTLED_ROOM_SIZE - 1)));
    for (let repetition = 0; repetition < count; repetition += 1) {
      const page = await preparePage(browser, baseUrl, variant);
      await mountRoom(page, room, `N${repetition + 1}`);
      await waitForFrames(page, SETTLED_ROOM_SIZE);
      results.push(await stagesOf(page, SETTLED_ROOM_SIZE));
      await closePages([page], server, SETTLED_ROOM_SIZE);
      await Promise.all(settled.map((other) => waitForOpenConnections(other, SETTLED_ROOM_SIZE - 1)));
    }
    return results;
  } finally {
    await closePages(settled, server);
  }
}

/** Builds the bundle of git revision `ref` in a temporary copy; returns the copy and its `dist/`. */
async function buildBaseline(ref: string): Promise<{ root: string; distDir: string }> {
  const root = await mkdtemp(join(os.tmpdir(), "webrtc-room-baseline-"));
  const archive = execFileSync("git", ["-C", ROOT_DIR, "archive", "--format=tar", ref], { maxBuffer: 256 * 1024 * 1024 });
  execFileSync("tar", ["-x", "-C", root], { input: archive });
  await symlink(await realpath(join(ROOT_DIR, "node_modules")), join(root, "node_modules"));
  const script = "import('./scripts/build.ts').then((build) => build.buildBundle())";
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`building ${ref} failed (exit ${code})`))));
  });
  return { root, distDir: join(root, "dist") };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "2,4,6" },
      repetitions: { type: "string", default: "3" },
      newcomers: { type: "string", default: "7" },
      baseline: { type: "string" },
      label: { type: "string", default: process.env.BENCH_LABEL ?? "current" },
      "skip-rooms": { type: "boolean", default: false },
    },
  });
  const sizes = values["skip-rooms"] ? [] : values.sizes.split(",").map(Number);
  const repetitions = Number(values.repetitions);
  const newcomerCount = Number(values.newcomers);
  const loadBefore = os.loadavg();

  const baseline = values.baseline === undefined ? undefined : await buildBaseline(values.baseline);
  await buildBundle();
  const variants: Variant[] = [
    ...(baseline ? [{ name: `baseline (${values.baseline})`, distDir: baseline.distDir }] : []),
    { name: values.label, distDir: undefined },
  ];
  const server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], roomCapacity: 8 });
  const baseUrl = `http://localhost:${server.port}`;
  const browser = await launchChromium();
  const rooms = new Map<string, Map<number, PageStages[]>>(variants.map((variant) => [variant.name, new Map()]));
  const arrivals = new Map<string, PageStages[]>(variants.map((variant) => [variant.name, []]));
  /** What stopped the run early (a room that missed its deadline); what was measured before it is still printed. */
  let failure: string | undefined;
  try {
    // Repetition by repetition, variant by variant: both variants share the machine's moods.
    for (let repetition = 1; repetition <= repetitions; repetition += 1) {
      for (const size of sizes) {
        for (const variant of variants) {
          process.stderr.write(`bench:browser ${variant.name}: room of ${size}, repetition ${repetition}/${repetitions}\n`);
          const stages = await formRoom(browser, server, baseUrl, variant, `bench-${size}-${repetition}-${variants.indexOf(variant)}`, size);
          const bySize = rooms.get(variant.name);
          bySize?.set(size, [...(bySize.get(size) ?? []), ...stages]);
        }
      }
    }
    // Newcomers in rounds, alternating variants, each round on a freshly settled room.
    const rounds = Math.max(1, Math.ceil(newcomerCount / 4));
    for (let round = 0; round < rounds; round += 1) {
      const count = Math.min(4, newcomerCount - round * 4);
      for (const variant of variants) {
        process.stderr.write(`bench:browser ${variant.name}: ${count} newcomers to a settled room of ${SETTLED_ROOM_SIZE}, round ${round + 1}/${rounds}\n`);
        arrivals.get(variant.name)?.push(...(await newcomers(browser, server, baseUrl, variant, `bench-newcomer-${round}-${variants.indexOf(variant)}`, count)));
      }
    }
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
    process.stderr.write(`bench:browser stopped early: ${failure}\n`);
    process.exitCode = 1;
  } finally {
    await browser.close();
    await server.close();
    if (baseline) {
      await rm(baseline.root, { recursive: true, force: true });
    }
  }

  const round2 = (value: number): number => Math.round(value * 100) / 100;
  const report = {
    benchmark: "browser-join",
    label: values.label,
    ...(values.baseline ? { baseline: values.baseline } : {}),
    machine: { cpus: os.cpus().length, loadAverage: { before: loadBefore.map(round2), after: os.loadavg().map(round2) } },
    repetitions,
    ...(failure === undefined ? {} : { stoppedEarly: failure.slice(0, 500) }),
    variants: Object.fromEntries(
      variants.map((variant) => {
        const newcomerStages = arrivals.get(variant.name) ?? [];
        return [
          variant.name,
          {
            rooms: Object.fromEntries([...(rooms.get(variant.name) ?? [])].map(([size, pages]) => [String(size), summarize(pages)])),
            newcomerToSettledRoomOf4: {
              repetitions: newcomerStages.length,
              joinToDecodingAllMs: newcomerStages.map((stages) => stages.allFramesMs ?? Number.NaN),
              stages: summarize(newcomerStages),
            },
          },
        ];
      }),
    ),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
