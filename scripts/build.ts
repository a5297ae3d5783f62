/**
 * Builds the browser bundle: `client/elements/index.ts` (the custom elements, Lit, the mesh core,
 * simple-peer and the Node shims it needs) into one minified ES module `dist/webrtc-room.js`
 * with a source map. Prints the raw and gzipped sizes and fails above the gzip budget.
 *
 * Run with `npm run build`; tests and `npm run screenshot` call {@link buildBundle} themselves so
 * that they always exercise the current source.
 */
import { build } from "esbuild";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT_DIR = fileURLToPath(new URL("../", import.meta.url));

/** Where the bundle is written; the server serves this file at `/assets/webrtc-room.js`. */
export const BUNDLE_FILE = fileURLToPath(new URL("../dist/webrtc-room.js", import.meta.url));

/** Budget for the gzipped bundle; the build fails above it. */
export const BUNDLE_GZIP_BUDGET_BYTES = 60 * 1024;

/** Sizes of a finished build. */
export interface BundleReport {
  file: string;
  rawBytes: number;
  gzipBytes: number;
}

/**
 * Bundles the elements into {@link BUNDLE_FILE} (plus `.map`). Rejects when esbuild fails or the
 * gzipped size exceeds {@link BUNDLE_GZIP_BUDGET_BYTES}.
 */
export async function buildBundle(): Promise<BundleReport> {
  await mkdir(fileURLToPath(new URL("../dist/", import.meta.url)), { recursive: true });
  const result = await build({
    absWorkingDir: ROOT_DIR,
    entryPoints: ["client/elements/index.ts"],
    outfile: BUNDLE_FILE,
    bundle: true,
    format: "esm",
    platform: "browser",
    // ES2022 keeps native `#private` fields and class fields (the core uses them throughout);
    // lowering them to ES2020 WeakMaps would cost size and speed for browsers that all have them.
    target: "es2022",
    minify: true,
    sourcemap: true,
    tsconfig: "tsconfig.json",
    // simple-peer → readable-stream, randombytes expect a few Node globals.
    inject: ["scripts/shims/node-globals.js"],
    alias: { debug: "./scripts/shims/debug.cjs" },
    define: {
      global: "globalThis",
      "process.env.NODE_ENV": JSON.stringify("production"),
      "process.env.NODE_DEBUG": "undefined",
      "process.env.DEBUG": "undefined",
    },
    logLevel: "warning",
    write: false,
  });
  // Write-then-rename, so that a server starting meanwhile (or a test file building in
  // parallel) reads the old bundle or the new one, never half of one.
  for (const file of result.outputFiles) {
    const partial = `${file.path}.${process.pid}.partial`;
    await writeFile(partial, file.contents);
    await rename(partial, file.path);
  }
  const body = result.outputFiles.find((file) => file.path === BUNDLE_FILE)?.contents;
  if (!body) {
    throw new Error(`esbuild did not produce ${BUNDLE_FILE}`);
  }
  const report = { file: BUNDLE_FILE, rawBytes: body.byteLength, gzipBytes: gzipSync(body, { level: 9 }).byteLength };
  if (report.gzipBytes > BUNDLE_GZIP_BUDGET_BYTES) {
    throw new Error(`bundle is ${kib(report.gzipBytes)} gzipped, over the ${kib(BUNDLE_GZIP_BUDGET_BYTES)} budget`);
  }
  return report;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** One line for logs: path, raw and gzipped size, budget. */
export function describeBundle(report: BundleReport): string {
  const file = report.file.startsWith(ROOT_DIR) ? report.file.slice(ROOT_DIR.length) : report.file;
  return `${file}: ${kib(report.rawBytes)} raw, ${kib(report.gzipBytes)} gzipped (budget ${kib(BUNDLE_GZIP_BUDGET_BYTES)})`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log(describeBundle(await buildBundle()));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
