/**
 * `npm run build`: everything the package ships that is not in git.
 *
 * - {@link buildLib}: `tsc -p tsconfig.build.json` compiles shared/, server/, client/ and cli/
 *   into `lib/` (JavaScript, declarations, source maps) — what `bin/webrtc-room.js` and the
 *   package's `exports` run.
 * - {@link buildBundle}: esbuild bundles `client/elements/index.ts` (the custom elements, Lit, the
 *   mesh core, simple-peer and the Node shims it needs) into one minified ES module named after its
 *   content, `dist/webrtc-room.<hash>.js` (+ `.map`), and a stable entry `dist/webrtc-room.js` that
 *   re-exports it. Every file gets `.gz` and `.br` siblings, compressed once here at the highest
 *   levels, so the server never compresses per request. The CSS of the elements' `css` templates
 *   is minified on the way in (`css-literals.ts`). Prints the sizes; fails above the gzip budget.
 *
 * Tests (through the vitest global setup) and `npm run screenshot` call these functions
 * themselves so that they always exercise the current source.
 */
import { build } from "esbuild";
import { spawn } from "node:child_process";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import { isContentHashed } from "../server/assets.ts";
import { cssLiteralsPlugin } from "./css-literals.ts";

const ROOT_DIR = fileURLToPath(new URL("../", import.meta.url));

/** Where the compiled package goes (`tsconfig.build.json` says the same). */
export const LIB_DIR = join(ROOT_DIR, "lib");

/** Where the browser bundle goes; the server serves this folder under `/assets/`. */
export const DIST_DIR = join(ROOT_DIR, "dist");

/** The stable entry of the bundle: pages and embedders load `/assets/webrtc-room.js`. */
export const BUNDLE_ENTRY_FILE = join(DIST_DIR, "webrtc-room.js");

/**
 * Budget for the gzipped bundle; the build fails above it. It catches an accidental heavy
 * dependency, not feature growth: calls on the shared peer link (data channel, renegotiation,
 * publications) took the bundle to 60 KiB, the room's host UI to 68.5 KiB, watches (client core
 * and `<webrtc-phone>`) to about 72.7 KiB, chat, notices and accessibility to about 78.7 KiB, and
 * the uplink budget and active speaker in the core (`bandwidth.ts`, `speaking.ts`) to about
 * 81.3 KiB, screen sharing and the stage (speaker layout, pin, full screen, level meters, video
 * hints by tile size: `screen-share.ts`, `stage-*.ts`, `video-hints.ts`) to about 84.9 KiB, so
 * the budget leaves room for a few more features.
 */
export const BUNDLE_GZIP_BUDGET_BYTES = 88 * 1024;

/**
 * Brotli quality for source maps. Quality 11 (used for what pages load) takes 2.3 s on the 1.1 MB
 * map for 9 % fewer bytes than quality 9 at 0.2 s; only developer tools ever fetch the map.
 */
const SOURCE_MAP_BROTLI_QUALITY = 9;

/** Sizes of a finished bundle build. */
export interface BundleReport {
  /** The content-hashed bundle, e.g. `dist/webrtc-room.ABCD2345.js`. */
  file: string;
  rawBytes: number;
  gzipBytes: number;
  brotliBytes: number;
}

/**
 * Compiles the package into {@link LIB_DIR} with the project's own `tsc`, after removing what a
 * previous build left (a moved or deleted source must not survive as a stale module). Rejects
 * with the compiler's output when it reports errors.
 */
export async function buildLib(): Promise<void> {
  await rm(LIB_DIR, { recursive: true, force: true });
  const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
  const child = spawn(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: ROOT_DIR, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  if (code !== 0) {
    throw new Error(`tsc -p tsconfig.build.json failed (exit ${code}):\n${output}`);
  }
}

/**
 * The compressed siblings of one file. A variant that would not be smaller than the file itself
 * (the few-byte entry) is left out; the server then sends the file as it is.
 */
function compressedVariants(name: string, contents: Uint8Array): Array<{ name: string; contents: Uint8Array }> {
  const variants = [
    { name: `${name}.gz`, contents: gzipSync(contents, { level: 9 }) },
    {
      name: `${name}.br`,
      contents: brotliCompressSync(contents, {
        params: {
          [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT,
          [zlib.BROTLI_PARAM_QUALITY]: name.endsWith(".map") ? SOURCE_MAP_BROTLI_QUALITY : zlib.BROTLI_MAX_QUALITY,
          [zlib.BROTLI_PARAM_SIZE_HINT]: contents.byteLength,
        },
      }),
    },
  ];
  return variants.filter((variant) => variant.contents.byteLength < contents.byteLength);
}

/**
 * Write-then-rename, so that a server starting meanwhile (or a test file building in parallel)
 * reads the old file or the new one, never half of one.
 */
async function writeWhole(path: string, contents: Uint8Array | string): Promise<void> {
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, contents);
  await rename(partial, path);
}

/**
 * Writes one servable file with its compressed siblings: siblings first and the file last, and
 * stale siblings of an earlier build removed, so that no reader pairs a file with another
 * build's compressed bytes.
 */
async function writeServable(name: string, contents: Uint8Array): Promise<Map<string, number>> {
  const variants = compressedVariants(name, contents);
  for (const suffix of [".gz", ".br"]) {
    if (!variants.some((variant) => variant.name === `${name}${suffix}`)) {
      await rm(join(DIST_DIR, `${name}${suffix}`), { force: true });
    }
  }
  for (const variant of variants) {
    await writeWhole(join(DIST_DIR, variant.name), variant.contents);
  }
  await writeWhole(join(DIST_DIR, name), contents);
  return new Map([[name, contents.byteLength], ...variants.map((variant) => [variant.name, variant.contents.byteLength] as const)]);
}

/**
 * Bundles the elements into `dist/webrtc-room.<hash>.js` (plus `.map`), writes the stable entry
 * {@link BUNDLE_ENTRY_FILE} that re-exports it, compresses all of them, and removes the hashed
 * files of earlier builds. Rejects when esbuild fails or the gzipped size exceeds
 * {@link BUNDLE_GZIP_BUDGET_BYTES}.
 */
export async function buildBundle(): Promise<BundleReport> {
  await mkdir(DIST_DIR, { recursive: true });
  const result = await build({
    absWorkingDir: ROOT_DIR,
    entryPoints: ["client/elements/index.ts"],
    outdir: DIST_DIR,
    // The content hash in the name is what lets the server cache the bundle forever
    // (`immutable`); server/assets.ts recognises it by esbuild's 8-character [hash].
    entryNames: "webrtc-room.[hash]",
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
    plugins: [cssLiteralsPlugin],
    write: false,
  });
  const bundle = result.outputFiles.find((file) => file.path.endsWith(".js"));
  if (!bundle || !isContentHashed(bundle.path.slice(DIST_DIR.length + 1))) {
    throw new Error(`esbuild did not produce a content-hashed bundle in ${DIST_DIR}`);
  }
  const bundleName = bundle.path.slice(DIST_DIR.length + 1);
  const sizes = new Map<string, number>();
  // The hashed files first, the entry that points at them last.
  for (const file of result.outputFiles) {
    for (const [name, bytes] of await writeServable(file.path.slice(DIST_DIR.length + 1), file.contents)) {
      sizes.set(name, bytes);
    }
  }
  await writeServable("webrtc-room.js", new TextEncoder().encode(`export * from "./${bundleName}";\n`));
  await removeStaleHashedFiles(new Set(sizes.keys()));
  const report: BundleReport = {
    file: bundle.path,
    rawBytes: bundle.contents.byteLength,
    gzipBytes: sizes.get(`${bundleName}.gz`) ?? bundle.contents.byteLength,
    brotliBytes: sizes.get(`${bundleName}.br`) ?? bundle.contents.byteLength,
  };
  if (report.gzipBytes > BUNDLE_GZIP_BUDGET_BYTES) {
    throw new Error(`bundle is ${kib(report.gzipBytes)} gzipped, over the ${kib(BUNDLE_GZIP_BUDGET_BYTES)} budget`);
  }
  return report;
}

/**
 * Removes content-hashed files (and their siblings) of earlier builds: the server loads the whole
 * folder into memory, and old bundles would only grow it. Entries in use by a running server are
 * already in its memory.
 */
async function removeStaleHashedFiles(current: ReadonlySet<string>): Promise<void> {
  for (const name of await readdir(DIST_DIR)) {
    const base = name.replace(/\.(gz|br)$/, "");
    if (!current.has(name) && isContentHashed(base) && !name.endsWith(".partial")) {
      await rm(join(DIST_DIR, name), { force: true });
    }
  }
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** One line for logs: path, raw, gzipped and brotli sizes, budget. */
export function describeBundle(report: BundleReport): string {
  const file = report.file.startsWith(ROOT_DIR) ? report.file.slice(ROOT_DIR.length) : report.file;
  return `${file}: ${kib(report.rawBytes)} raw, ${kib(report.gzipBytes)} gzip, ${kib(report.brotliBytes)} brotli (gzip budget ${kib(BUNDLE_GZIP_BUDGET_BYTES)})`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const startedAtMs = Date.now();
    await buildLib();
    console.log(`lib/: compiled in ${Date.now() - startedAtMs} ms`);
    console.log(describeBundle(await buildBundle()));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
