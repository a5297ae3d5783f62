/**
 * The browser bundle (`npm run build` writes it to `dist/`), read once at start-up and served from
 * memory under `/assets/<file>`.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Folder the build writes the browser bundle to. */
export const DIST_DIR = fileURLToPath(new URL("../dist/", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** One file ready to serve. */
export interface StaticAsset {
  body: Buffer;
  contentType: string;
  etag: string;
}

/** Reads every servable file of {@link DIST_DIR}; an unbuilt checkout simply has none. */
export async function loadStaticAssets(directory = DIST_DIR): Promise<Map<string, StaticAsset>> {
  const assets = new Map<string, StaticAsset>();
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return assets;
  }
  for (const name of names) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType) {
      const body = await readFile(join(directory, name));
      assets.set(name, { body, contentType, etag: `"${createHash("sha1").update(body).digest("base64url")}"` });
    }
  }
  return assets;
}
