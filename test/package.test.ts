/**
 * The package as a user gets it: `npm pack` this project (lib/ and dist/ as the vitest global
 * setup just built them), `npm install` the tarball into a scratch project, and use it from there
 * — the server from compiled JavaScript, the client's types under `tsc`, the `webrtc-room` binary
 * without tsx, and `webrtc-room peers` without the optional @roamhq/wrtc.
 *
 * Slow (an npm install, a minute at most from a warm npm cache), real, no mocks.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT_DIR = fileURLToPath(new URL("../", import.meta.url));
/** The project's own compiler: the scratch project installs only the tarball. */
const TSC = join(ROOT_DIR, "node_modules", ".bin", "tsc");
const INSTALL_TIMEOUT_MS = 240_000;
const COMMAND_TIMEOUT_MS = 60_000;

/** What a finished command printed and how it ended. */
interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Every child this file started, so that afterAll can stop what a failed test left running. */
const children = new Set<ChildProcess>();
let workDir = "";
let scratchDir = "";
let tarball = "";

/**
 * The environment for scratch commands: this test's, minus anything that would load a loader
 * (tsx) or a condition into the child and hide what the installed package does on its own.
 */
function scratchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

function start(command: string, args: readonly string[], cwd: string): ChildProcess {
  const child = spawn(command, args, { cwd, env: scratchEnv(), stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Runs a command to its end; rejects after `timeoutMs` (and kills it). */
function run(command: string, args: readonly string[], cwd: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<Finished> {
  const child = start(command, args, cwd);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Like {@link run}, failing with the output unless the command exits 0. */
async function runOk(command: string, args: readonly string[], cwd: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<Finished> {
  const finished = await run(command, args, cwd, timeoutMs);
  if (finished.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${finished.code ?? finished.signal}\n${finished.stdout}\n${finished.stderr}`);
  }
  return finished;
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "webrtc-room-package-"));
  scratchDir = join(workDir, "scratch");
  await mkdir(scratchDir);
  // lib/ and dist/ are current: the global setup built them. --ignore-scripts skips `prepack`,
  // which would rebuild (and briefly remove) lib/ under test files running in parallel.
  const packed = await runOk("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", workDir], ROOT_DIR);
  const [manifest] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (!manifest) {
    throw new Error(`npm pack printed no manifest:\n${packed.stdout}`);
  }
  tarball = join(workDir, manifest.filename);
  await writeFile(join(scratchDir, "package.json"), `${JSON.stringify({ name: "scratch", private: true, type: "module" }, null, 2)}\n`);
  await runOk("npm", ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], scratchDir, INSTALL_TIMEOUT_MS);
}, INSTALL_TIMEOUT_MS + COMMAND_TIMEOUT_MS);

afterAll(async () => {
  for (const child of children) {
    child.kill("SIGKILL");
  }
  if (workDir !== "") {
    await rm(workDir, { recursive: true, force: true });
  }
});

describe("the tarball", () => {
  it("ships compiled JavaScript, declarations, the bundle and the binary, and no TypeScript sources or tests", async () => {
    const listed = await runOk("tar", ["-tzf", tarball], workDir);
    const files = listed.stdout.split("\n").filter(Boolean).map((path) => path.replace(/^package\//, ""));
    for (const expected of [
      "package.json",
      "README.md",
      "bin/webrtc-room.js",
      "lib/cli/main.js",
      "lib/server/index.js",
      "lib/server/index.d.ts",
      "lib/client/core/index.js",
      "lib/client/core/index.d.ts",
      "lib/client/elements/index.js",
      "lib/client/headless/index.js",
      "lib/client/headless/peers-worker.js",
      "dist/webrtc-room.js",
      "dist/room.js",
      "dist/phone.js",
    ]) {
      expect(files, expected).toContain(expected);
    }
    expect(files.some((path) => /^dist\/chunk\.[A-Z2-7]{8}\.js\.br$/.test(path))).toBe(true);
    expect(files.filter((path) => path.endsWith(".ts") && !path.endsWith(".d.ts"))).toEqual([]);
    expect(files.filter((path) => /^(test|bench|scripts|server|client|shared|cli|node_modules)\//.test(path))).toEqual([]);
  });

  it("installs its runtime dependencies only: no tsx, esbuild, typescript, nor the optional @roamhq/wrtc", async () => {
    for (const name of ["tsx", "esbuild", "typescript", "vitest", "@roamhq/wrtc"]) {
      expect(existsSync(join(scratchDir, "node_modules", name)), name).toBe(false);
    }
    for (const name of ["lit", "uWebSockets.js", "ws", "valibot"]) {
      expect(existsSync(join(scratchDir, "node_modules", name)), name).toBe(true);
    }
    const installed = JSON.parse(await readFile(join(scratchDir, "node_modules", "webrtc-room", "package.json"), "utf8")) as { peerDependenciesMeta?: Record<string, { optional?: boolean }> };
    expect(installed.peerDependenciesMeta?.["@roamhq/wrtc"]?.optional).toBe(true);
  });
});

describe("the source layout", () => {
  it("server/ imports nothing from client/ (the CLI in cli/ is the one place that reaches both)", async () => {
    const serverDir = join(ROOT_DIR, "server");
    for (const name of (await readdir(serverDir)).filter((file) => file.endsWith(".ts"))) {
      const source = await readFile(join(serverDir, name), "utf8");
      expect(source, `server/${name}`).not.toMatch(/(from|import\()\s*["'][^"']*\/client\//);
    }
  });
});

describe("using the installed package", () => {
  it('`import { startServer } from "webrtc-room/server"` runs compiled code, answers /healthz and serves the bundle', async () => {
    await writeFile(join(scratchDir, "serve.mjs"), `
import { startServer } from "webrtc-room/server";
const server = await startServer({ host: "127.0.0.1", port: 0, iceServers: [] });
try {
  const health = await fetch(server.httpUrl + "/healthz");
  const asset = await fetch(server.httpUrl + "/assets/webrtc-room.js");
  console.log(JSON.stringify({
    resolved: import.meta.resolve("webrtc-room/server"),
    healthStatus: health.status,
    health: await health.json(),
    assetStatus: asset.status,
    asset: await asset.text(),
  }));
} finally {
  await server.close();
}
`);
    const finished = await runOk(process.execPath, ["serve.mjs"], scratchDir);
    const result = JSON.parse(finished.stdout) as { resolved: string; healthStatus: number; health: { status: string }; assetStatus: number; asset: string };
    expect(result.resolved).toBe(`file://${join(scratchDir, "node_modules", "webrtc-room", "lib", "server", "index.js")}`);
    expect(result.healthStatus).toBe(200);
    expect(result.health.status).toBe("ok");
    expect(result.assetStatus).toBe(200);
    expect(result.asset).toMatch(/\nexport \* from "\.\/webrtc-room\.[A-Z2-7]{8}\.js";\n$/);
  });

  it('the client\'s types resolve under tsc: a .ts importing from "webrtc-room" and "webrtc-room/elements" type-checks, and a wrong use does not', async () => {
    await writeFile(join(scratchDir, "tsconfig.json"), `${JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2022", "DOM", "DOM.Iterable"],
        types: [],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      files: ["client.ts"],
    }, null, 2)}\n`);
    await writeFile(join(scratchDir, "client.ts"), `
import { MeshSession, PhoneSession, SignalingState, exponentialBackoff, type MeshSessionOptions, type ReconnectPolicy } from "webrtc-room";

const policy: ReconnectPolicy = exponentialBackoff();
export const firstDelayMs: number | null = policy(1);
export const open: "open" = SignalingState.open;
export type Options = MeshSessionOptions;
export type Sessions = [MeshSession, PhoneSession];

// The elements' entry too (declarations that lean on lit, a dependency).
import type { WebRtcRoom, WebRtcPhone } from "webrtc-room/elements";
export type Elements = [WebRtcRoom["room"], WebRtcPhone];
`);
    const ok = await run(TSC, ["--noEmit", "-p", "tsconfig.json"], scratchDir);
    expect(ok.stdout + ok.stderr).toBe("");
    expect(ok.code).toBe(0);

    // The types are real, not `any`: a number is not a string.
    await writeFile(join(scratchDir, "client.ts"), `
import { RECONNECT_MAX_ATTEMPTS } from "webrtc-room";
export const attempts: string = RECONNECT_MAX_ATTEMPTS;
`);
    const wrong = await run(TSC, ["--noEmit", "-p", "tsconfig.json"], scratchDir);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout).toContain("TS2322");
  });

  it("`webrtc-room serve --port 0` runs from node_modules/.bin without tsx, answers /healthz and stops on SIGTERM", async () => {
    expect(existsSync(join(scratchDir, "node_modules", "tsx"))).toBe(false);
    const child = start(join(scratchDir, "node_modules", ".bin", "webrtc-room"), ["serve", "--host", "127.0.0.1", "--port", "0", "--stun", ""], scratchDir);
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "listening" line within ${COMMAND_TIMEOUT_MS} ms:\n${output}`)), COMMAND_TIMEOUT_MS);
      const onData = (): void => {
        const match = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      };
      child.stdout?.on("data", onData);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`webrtc-room serve exited (${code}) before listening:\n${output}`));
      });
    });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe("ok");
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("`webrtc-room peers` without @roamhq/wrtc says to install it and exits 2, without a stack trace", async () => {
    const finished = await run(join(scratchDir, "node_modules", ".bin", "webrtc-room"), ["peers", "--url", "ws://127.0.0.1:1/ws"], scratchDir);
    expect(finished.code).toBe(2);
    expect(finished.stderr).toContain("npm install @roamhq/wrtc");
    expect(finished.stderr).not.toMatch(/^\s+at /m);
    expect(finished.stdout).toBe("");
  });

  it("`webrtc-room --help` lists the commands and exits 0", async () => {
    const finished = await runOk(join(scratchDir, "node_modules", ".bin", "webrtc-room"), ["--help"], scratchDir);
    expect(finished.stdout).toContain("serve");
    expect(finished.stdout).toContain("peers");
  });
});
