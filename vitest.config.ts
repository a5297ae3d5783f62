import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Builds lib/ and dist/ once per run: spawned `webrtc-room` processes run the compiled code.
    globalSetup: ["test/support/build-package.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
