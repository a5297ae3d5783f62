/**
 * Vitest global setup: `npm run build` once before any test file runs, so that tests which start
 * `bin/webrtc-room.js` run the compiled lib/ of the current source, and tests that fetch
 * `/assets/…` find the current bundle in dist/ (in-process tests import the .ts sources directly).
 */
import { buildBundle, buildLib } from "../../scripts/build.ts";

export default async function setup(): Promise<void> {
  await buildLib();
  await buildBundle();
}
