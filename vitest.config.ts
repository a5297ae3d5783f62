import { defineConfig } from "vitest/config";
import { crashReportingForks } from "./test/support/crash-reporting-pool.ts";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Builds lib/ and dist/ once per run: spawned `webrtc-room` processes run the compiled code.
    globalSetup: ["test/support/build-package.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One process per test file (`forks` + `isolate`), so that a native crash in @roamhq/wrtc
    // takes down only the file that caused it; that file then fails by name, with the signal.
    pool: crashReportingForks(),
    isolate: true,
  },
});
