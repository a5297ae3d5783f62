/**
 * `npm run build`: everything the package ships that is not in git.
 *
 * - {@link buildLib}: `tsc -p tsconfig.build.json` compiles shared/, server/, client/ and cli/
 *   into `lib/` (JavaScript, declarations, source maps) — what `bin/webrtc-room.js` and the
 *   package's `exports` run.
 * - {@link buildBundle}: esbuild bundles the custom elements (with Lit, the client core,
 *   simple-peer and the Node shims it needs) into minified ES modules named after their content,
 *   with one stable entry per use ({@link BUNDLE_ENTRIES}): `dist/webrtc-room.js` registers both
 *   elements (embedders), `dist/room.js` only `<webrtc-room>` (the join page), `dist/phone.js`
 *   only `<webrtc-phone>` (`/call`). What the entries share is split into content-hashed chunks
 *   that a browser caches once. Every file gets `.gz` and `.br` siblings, compressed once here at
 *   the highest levels, so the server never compresses per request. The CSS of the elements' `css`
 *   templates is minified on the way in (`css-literals.ts`). Prints the sizes; fails when what one
 *   entry loads is above the gzip budget.
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

/**
 * The stable entries of the bundle, by name (`dist/<name>.js`, served as `/assets/<name>.js`), and
 * the module each one loads.
 */
export const BUNDLE_ENTRIES = {
  /** Both elements: what embedders load. */
  "webrtc-room": "client/elements/index.ts",
  /** `<webrtc-room>` alone: the join page `/r/<room>`. */
  room: "client/elements/room/webrtc-room.ts",
  /** `<webrtc-phone>` alone: `/call`. */
  phone: "client/elements/phone/webrtc-phone.ts",
} as const;

/** A name of {@link BUNDLE_ENTRIES}. */
export type BundleEntryName = keyof typeof BUNDLE_ENTRIES;

/**
 * Sources (path prefixes) a page's entry must not load: the other element and its session. The
 * split only keeps them apart while each element imports the core's modules it uses, not an
 * index that re-exports both; the build fails when one slips in.
 */
const FOREIGN_SOURCES: Readonly<Partial<Record<BundleEntryName, readonly string[]>>> = {
  room: ["client/elements/phone/", "client/core/phone-session.ts", "client/core/phone-watches.ts"],
  phone: ["client/elements/room/", "client/core/room-session.ts"],
};

/**
 * Budget for what one page's entry ({@link BUDGETED_ENTRIES}) loads, gzipped (its own module and
 * every chunk it imports); the build fails above it. It catches an accidental heavy dependency, not
 * feature growth: calls on the shared peer link (data channel, renegotiation, publications) took
 * the one bundle of both elements to 60 KiB, the room's host UI to 68.5 KiB, watches to about
 * 72.7 KiB, chat, notices and accessibility to about 78.7 KiB, and the uplink budget and active
 * speaker to about 81.3 KiB. Split per element, the room's page then loaded 70.0 KiB and `/call`
 * 64.2 KiB; the calls' ring, connection notices, chat and modal dialogs, camera status and
 * accounts took `/call` to 71.4 KiB, and the pre-join screen, the devices dialog, screen sharing
 * and the stage (speaker layout, pin, levels, video hints) took the room to 79.1 KiB.
 */
export const BUNDLE_GZIP_BUDGET_BYTES = 88 * 1024;

/**
 * The entries the budget holds: one per page. Both elements together (`webrtc-room.js`) load the
 * sum of the two less what they share; a heavy dependency shows in a page's entry first.
 */
export const BUDGETED_ENTRIES: readonly BundleEntryName[] = ["room", "phone"];

/**
 * Brotli quality for source maps. Quality 11 (used for what pages load) takes 2.3 s on the 1.1 MB
 * map for 9 % fewer bytes than quality 9 at 0.2 s; only developer tools ever fetch the map.
 */
const SOURCE_MAP_BROTLI_QUALITY = 9;

/** What one stable entry loads, and its size summed over those files. */
export interface BundleEntryReport {
  /** The content-hashed files the entry loads, its own module first, e.g. `webrtc-room.ABCD2345.js`. */
  files: string[];
  rawBytes: number;
  gzipBytes: number;
  brotliBytes: number;
}

/** Sizes of a finished bundle build, per stable entry. */
export type BundleReport = Record<BundleEntryName, BundleEntryReport>;

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
 * Bundles the elements: one content-hashed module per entry of {@link BUNDLE_ENTRIES} plus the
 * chunks they share (each with its `.map`), then each stable entry `dist/<name>.js`, which imports
 * every chunk its module needs (so a browser fetches them all at once, not one level at a time)
 * and re-exports the module; compresses all of them and removes the hashed files of earlier
 * builds. Rejects when esbuild fails or what a page's entry ({@link BUDGETED_ENTRIES}) loads
 * exceeds {@link BUNDLE_GZIP_BUDGET_BYTES} gzipped.
 */
export async function buildBundle(): Promise<BundleReport> {
  await mkdir(DIST_DIR, { recursive: true });
  const result = await build({
    absWorkingDir: ROOT_DIR,
    entryPoints: Object.entries(BUNDLE_ENTRIES).map(([out, source]) => ({ in: source, out })),
    outdir: DIST_DIR,
    // The content hash in the name is what lets the server cache a module forever (`immutable`);
    // server/assets.ts recognises it by esbuild's 8-character [hash].
    entryNames: "[name].[hash]",
    chunkNames: "chunk.[hash]",
    splitting: true,
    bundle: true,
    format: "esm",
    platform: "browser",
    // ES2022 keeps native `#private` fields and class fields (the core uses them throughout);
    // lowering them to ES2020 WeakMaps would cost size and speed for browsers that all have them.
    target: "es2022",
    minify: true,
    sourcemap: true,
    metafile: true,
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
  const distName = (path: string): string => path.slice(path.lastIndexOf("/") + 1);
  const sizes = new Map<string, number>();
  // The hashed files first, the entries that point at them last.
  for (const file of result.outputFiles) {
    for (const [name, bytes] of await writeServable(distName(file.path), file.contents)) {
      sizes.set(name, bytes);
    }
  }
  const outputs = result.metafile.outputs;
  /** Every hashed file `name` loads: itself, then its static imports, depth first. */
  const loads = (name: string, seen: string[] = []): string[] => {
    const output = outputs[`dist/${name}`];
    if (!output || !isContentHashed(name)) {
      throw new Error(`esbuild did not produce a content-hashed module dist/${name}`);
    }
    seen.push(name);
    for (const imported of output.imports) {
      const importedName = distName(imported.path);
      if (imported.kind === "import-statement" && !seen.includes(importedName)) {
        loads(importedName, seen);
      }
    }
    return seen;
  };
  const size = (files: readonly string[], suffix: string): number => files.reduce((sum, file) => sum + (sizes.get(`${file}${suffix}`) ?? sizes.get(file) ?? 0), 0);
  const entries = Object.keys(BUNDLE_ENTRIES) as BundleEntryName[];
  const report = {} as BundleReport;
  for (const entry of entries) {
    const module = Object.entries(outputs).find(([path, output]) => output.entryPoint === BUNDLE_ENTRIES[entry] && path.endsWith(".js"));
    if (!module) {
      throw new Error(`esbuild produced no module for ${BUNDLE_ENTRIES[entry]}`);
    }
    const files = loads(distName(module[0]));
    const foreign = files.flatMap((file) => Object.entries(outputs[`dist/${file}`]?.inputs ?? {}))
      .filter(([source, input]) => input.bytesInOutput > 0 && (FOREIGN_SOURCES[entry] ?? []).some((prefix) => source.startsWith(prefix)))
      .map(([source]) => source);
    if (foreign.length > 0) {
      throw new Error(`${entry}.js loads ${foreign.join(", ")}: import the core's modules, not an index that re-exports the other element's`);
    }
    const [own, ...chunks] = files;
    const text = `${chunks.map((chunk) => `import "./${chunk}";\n`).join("")}export * from "./${own}";\n`;
    await writeServable(`${entry}.js`, new TextEncoder().encode(text));
    report[entry] = { files, rawBytes: size(files, ""), gzipBytes: size(files, ".gz"), brotliBytes: size(files, ".br") };
  }
  await removeStaleHashedFiles(new Set(sizes.keys()));
  for (const entry of BUDGETED_ENTRIES) {
    if (report[entry].gzipBytes > BUNDLE_GZIP_BUDGET_BYTES) {
      throw new Error(`${entry}.js loads ${kib(report[entry].gzipBytes)} gzipped, over the ${kib(BUNDLE_GZIP_BUDGET_BYTES)} budget`);
    }
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

/** Lines for logs: per stable entry, what it loads raw, gzipped and brotli, and the budget it is held to. */
export function describeBundle(report: BundleReport): string {
  return Object.entries(report)
    .map(([entry, sizes]) => {
      const budget = BUDGETED_ENTRIES.some((budgeted) => budgeted === entry) ? ` (gzip budget ${kib(BUNDLE_GZIP_BUDGET_BYTES)})` : "";
      return `dist/${entry}.js (${sizes.files.length} files): ${kib(sizes.rawBytes)} raw, ${kib(sizes.gzipBytes)} gzip, ${kib(sizes.brotliBytes)} brotli${budget}`;
    })
    .join("\n");
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
