/**
 * `webrtc-room peers` end to end: the real binary in a child process against a real server.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import type { PeersReport } from "../../client/headless/peers.ts";
import { startTestServer } from "./helpers.ts";

const BIN = fileURLToPath(new URL("../../bin/webrtc-room.js", import.meta.url));

/** Runs the binary with `args` (and this process's environment changed by `env`: undefined removes); resolves with its exit code and output. */
async function runBinary(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv = Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, value]) => value !== undefined));
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: childEnv });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

describe("webrtc-room peers, happy path", () => {
  test("--help documents every flag and exits 0", async () => {
    const { code, stdout } = await runBinary(["peers", "--help"]);

    expect(code).toBe(0);
    for (const flag of ["--url", "--peers", "--rooms", "--room", "--video", "--ping", "--duration-seconds", "--timeout-seconds", "--join-interval-ms", "--json-out", "--auth-secret", "--auth-issuer"]) {
      expect(stdout).toContain(flag);
    }
  });

  test("prints a JSON report on stdout, progress on stderr, and exits 0 when every pair connects", async () => {
    const server = await startTestServer();
    try {
      const { code, stdout, stderr } = await runBinary(["peers", "--url", server.httpUrl, "--peers", "4", "--video", "--ping", "--duration-seconds", "1"]);

      expect(code).toBe(0);
      const report = JSON.parse(stdout) as PeersReport;
      expect(report.server.url).toBe(server.wsUrl);
      expect(report.parameters).toMatchObject({ peers: 4, rooms: 1, video: true, ping: true, durationSeconds: 1 });
      expect(report.pairs).toEqual({ connected: 6, expected: 6 });
      expect(report.joinToFullyConnectedMs?.count).toBe(4);
      expect(report.video?.directedPairsWithFrames).toBe(12);
      expect(stderr).toContain("peers: holding");
    } finally {
      await server.close();
    }
  });
});

describe("webrtc-room peers against a server in token mode", () => {
  const SECRET = "peers-cli-test-secret-of-32-bytes-or-more";

  test("with the server's secret (from the environment) every peer gets its own join token and the mesh completes; without it every join is refused token_missing", async () => {
    const server = await startTestServer({ auth: "token", authSecret: SECRET });
    try {
      const withSecret = await runBinary(["peers", "--url", server.wsUrl, "--peers", "3", "--rooms", "2", "--duration-seconds", "0"], { WEBRTC_ROOM_AUTH_SECRET: SECRET });
      expect(withSecret.code, withSecret.stderr).toBe(0);
      const report = JSON.parse(withSecret.stdout) as PeersReport;
      expect(report.pairs).toEqual({ connected: 1, expected: 1 });
      expect(report.joinToFullyConnectedMs?.count).toBe(3);
      expect(report.errors).toEqual({});

      const without = await runBinary(["peers", "--url", server.wsUrl, "--peers", "2", "--duration-seconds", "0", "--timeout-seconds", "2"], { WEBRTC_ROOM_AUTH_SECRET: undefined });
      expect(without.code).toBe(1);
      expect((JSON.parse(without.stdout) as PeersReport).errors).toEqual({ token_missing: 2 });
    } finally {
      await server.close();
    }
  });

  test("a secret the server's token code refuses (too short) exits 2 before any peer starts", async () => {
    const { code, stderr, stdout } = await runBinary(["peers", "--url", "ws://127.0.0.1:1/ws", "--auth-secret", "short"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--auth-secret: the token secret must be at least");
    expect(stdout).toBe("");
  });
});

describe("webrtc-room peers, failure cases", () => {
  test("exits 1 and counts room_full when fewer pairs connect than expected", async () => {
    const server = await startTestServer({ roomCapacity: 2 });
    try {
      const { code, stdout } = await runBinary(["peers", "--url", server.wsUrl, "--peers", "3", "--duration-seconds", "0", "--timeout-seconds", "2"]);

      expect(code).toBe(1);
      const report = JSON.parse(stdout) as PeersReport;
      expect(report.ok).toBe(false);
      expect(report.pairs).toEqual({ connected: 1, expected: 3 });
      expect(report.errors).toEqual({ room_full: 1 });
    } finally {
      await server.close();
    }
  });

  test.each([
    [["--peers", "4"], "--url is required"],
    [["--url", "ftp://example.org"], "--url must be"],
    [["--url", "ws://127.0.0.1:1/ws", "--peers", "zero"], "--peers must be an integer"],
    [["--url", "ws://127.0.0.1:1/ws", "--room", "no spaces"], "--room must match"],
    [["--url", "ws://127.0.0.1:1/ws", "--colour"], "Unknown option"],
    [["--url", "ws://127.0.0.1:1/ws", "--auth-issuer", "acme"], "--auth-issuer needs --auth-secret"],
  ])("exits 2 on bad options %j", async (args, message) => {
    const { code, stderr } = await runBinary(["peers", ...args]);

    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });
});
