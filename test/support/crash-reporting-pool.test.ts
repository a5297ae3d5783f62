/**
 * The pool of `vitest.config.ts` turns a test worker's native death into a named failure: a nested
 * Vitest runs a fixture whose worker dies on SIGSEGV next to one that passes.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { JsonTestResults } from "vitest/reporters";

const FIXTURES_CONFIG = join(import.meta.dirname, "fixtures", "vitest.fixtures.config.ts");
const VITEST_BIN = join(import.meta.dirname, "..", "..", "node_modules", "vitest", "vitest.mjs");

/** Runs the fixtures in a nested Vitest; resolves with its exit code and JSON report. */
async function runFixtures(directory: string): Promise<{ exitCode: number | null; output: string; report: JsonTestResults }> {
  const reportFile = join(directory, "report.json");
  const child = spawn(process.execPath, [VITEST_BIN, "run", "--config", FIXTURES_CONFIG, "--reporter=default", "--reporter=json", `--outputFile=${reportFile}`], {
    // The crashing fixture's core file (CI enables core dumps) lands in the scratch directory, not
    // next to the real suite's, where `.ci/run` looks for the core of an unexpected crash.
    cwd: directory,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const report = JSON.parse(await readFile(reportFile, "utf8")) as JsonTestResults;
  return { exitCode, output, report };
}

describe("crash-reporting fork pool, failure cases", () => {
  let directory: string;
  let run: Awaited<ReturnType<typeof runFixtures>>;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "webrtc-room-crash-pool-"));
    run = await runFixtures(directory);
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  test("a worker that dies on a signal fails its file by name, with the signal", () => {
    const crashed = run.report.testResults.find((result) => result.name.endsWith("worker-crash.fixture.ts"));
    expect(crashed?.status).toBe("failed");
    expect(crashed?.message).toBe("test worker died (signal SIGSEGV) while running worker-crash.fixture.ts");
    expect(run.output).toContain("test worker died (signal SIGSEGV) while running worker-crash.fixture.ts");
  });

  test("the tests whose results never arrived fail instead of showing as pending", () => {
    const crashed = run.report.testResults.find((result) => result.name.endsWith("worker-crash.fixture.ts"));
    const statuses = crashed?.assertionResults.map((assertion) => [assertion.title, assertion.status]);
    expect(statuses).toContainEqual(["the worker dies here", "failed"]);
    expect(statuses).toContainEqual(["never runs", "failed"]);
    expect(run.report.numPendingTests).toBe(0);
  });

  test("the run fails and a file next to the crashing one still passes", () => {
    expect(run.exitCode).toBe(1);
    expect(run.report.success).toBe(false);
    expect(run.report.testResults.find((result) => result.name.endsWith("worker-fine.fixture.ts"))?.status).toBe("passed");
  });
});
