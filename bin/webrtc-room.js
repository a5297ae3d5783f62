#!/usr/bin/env node
// Launcher of the `webrtc-room` command. `#cli` (package.json "imports") is the compiled CLI,
// lib/cli/main.js, written by `npm run build`; `npm run dev` runs cli/main.ts instead by adding
// the "@webrtc-room/source" condition and the tsx loader.
let cli;
try {
  cli = await import("#cli");
} catch (error) {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && /lib[\\/]cli[\\/]main\.js/.test(String(error.message))) {
    console.error("webrtc-room: lib/ is missing; run `npm run build` first (npm start does).");
    process.exit(1);
  }
  throw error;
}
process.exitCode = await cli.main(process.argv.slice(2));
