/**
 * The browser bundle (`npm run build` writes it to `dist/`), read once at start-up and served from
 * memory under `/assets/<file>` the way a web server would: the encoding the client accepts
 * (brotli or gzip, compressed at build time), one ETag per encoding, `304 Not Modified` for a
 * current one, and caching by name — a content-hashed file never changes, so it is cached for a
 * year (`immutable`); any other file is revalidated on every use (`no-cache` + ETag).
 *
 * Pure apart from {@link loadStaticAssets}: {@link answerAsset} turns a request's two headers
 * into the whole answer, and the route in http-routes.ts only writes it.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliDecompressSync, gunzipSync } from "node:zlib";

/**
 * Folder the build writes the browser bundle to: `dist/` at the package root, which is one level
 * up from `server/assets.ts` and two from its compiled `lib/server/assets.js`.
 */
export const DIST_DIR = fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? "../dist/" : "../../dist/", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** `Cache-Control` of a content-hashed file: its bytes never change under that name. */
export const IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable";

/** `Cache-Control` of any other file: cache it, but ask (cheaply, with the ETag) before each use. */
export const REVALIDATE_CACHE_CONTROL = "no-cache";

/**
 * A name carrying esbuild's `[hash]` of its content (8 base-32 characters), as the build names
 * the bundle and its map: `webrtc-room.ABCD2345.js`, `webrtc-room.ABCD2345.js.map`.
 */
const CONTENT_HASHED_NAME = /^[\w-]+\.[A-Z2-7]{8}\.(js|css)(\.map)?$/;

/** True for a file name that changes whenever its content does (see {@link CONTENT_HASHED_NAME}). */
export function isContentHashed(name: string): boolean {
  return CONTENT_HASHED_NAME.test(name);
}

/** Content codings the build writes next to each file, with the suffix it uses. */
export const PRECOMPRESSED = [
  { encoding: "br", suffix: ".br", decompress: brotliDecompressSync },
  { encoding: "gzip", suffix: ".gz", decompress: gunzipSync },
] as const;

/** A content coding the server can send (`Content-Encoding`). */
export type ContentEncoding = (typeof PRECOMPRESSED)[number]["encoding"];

/** One representation of a file: as it is (`encoding` undefined) or compressed. */
export interface AssetVariant {
  readonly encoding: ContentEncoding | undefined;
  readonly body: Buffer;
  /** Strong ETag, different for each encoding of the same file. */
  readonly etag: string;
}

/** One file ready to serve, in every encoding the build produced. */
export interface StaticAsset {
  readonly contentType: string;
  readonly cacheControl: string;
  readonly identity: AssetVariant;
  readonly encoded: ReadonlyMap<ContentEncoding, AssetVariant>;
}

/**
 * Reads every servable file of {@link DIST_DIR} and its `.br` / `.gz` siblings; an unbuilt
 * checkout simply has none. A sibling that does not decompress to the file (read while a build
 * was rewriting the folder) is left out: that encoding is then not offered, never wrong bytes.
 */
export async function loadStaticAssets(directory = DIST_DIR): Promise<Map<string, StaticAsset>> {
  const assets = new Map<string, StaticAsset>();
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return assets;
  }
  const present = new Set(names);
  for (const name of names) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (!contentType) {
      continue;
    }
    const body = await readFile(join(directory, name));
    const hash = createHash("sha1").update(body).digest("base64url");
    const encoded = new Map<ContentEncoding, AssetVariant>();
    for (const { encoding, suffix, decompress } of PRECOMPRESSED) {
      if (!present.has(name + suffix)) {
        continue;
      }
      const compressed = await readFile(join(directory, name + suffix));
      let matches = false;
      try {
        matches = decompress(compressed).equals(body);
      } catch {
        // Truncated or not compressed at all: not offered.
      }
      if (matches) {
        encoded.set(encoding, { encoding, body: compressed, etag: `"${hash}-${encoding}"` });
      }
    }
    assets.set(name, {
      contentType,
      cacheControl: isContentHashed(name) ? IMMUTABLE_CACHE_CONTROL : REVALIDATE_CACHE_CONTROL,
      identity: { encoding: undefined, body, etag: `"${hash}"` },
      encoded,
    });
  }
  return assets;
}

/**
 * `Accept-Encoding` as coding → qvalue (RFC 9110 §12.5.3), names lowercased, `x-gzip` read as
 * `gzip`. An entry whose qvalue does not parse is dropped, as if the client had not listed it.
 */
export function parseAcceptEncoding(header: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const entry of header.split(",")) {
    const [rawCoding = "", ...parameters] = entry.split(";");
    let coding = rawCoding.trim().toLowerCase();
    if (coding === "") {
      continue;
    }
    if (coding === "x-gzip") {
      coding = "gzip";
    }
    let weight = 1;
    for (const parameter of parameters) {
      const [key = "", value = ""] = parameter.split("=").map((part) => part.trim());
      if (key.toLowerCase() === "q") {
        weight = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value) ? Number(value) : Number.NaN;
      }
    }
    if (!Number.isNaN(weight)) {
      weights.set(coding, weight);
    }
  }
  return weights;
}

/**
 * The variant to send for an `Accept-Encoding` header: the acceptable encoding with the highest
 * qvalue, brotli before gzip before none on a tie (smallest first); none only wins when the client
 * gives `identity` (or `*`) a higher qvalue. `q=0` rules an encoding out; `*` stands for every
 * encoding not named. Without the header, or when nothing listed is acceptable, the file goes as
 * it is — every client can read that, and a 406 would only break a page over a header no browser
 * sends.
 */
export function selectVariant(asset: StaticAsset, acceptEncoding: string): AssetVariant {
  if (acceptEncoding.trim() === "") {
    return asset.identity;
  }
  const weights = parseAcceptEncoding(acceptEncoding);
  // Unlisted, the file as it is stays acceptable but comes last: a client that names any
  // encoding it accepts gets one, whatever its qvalue (RFC 9110 gives identity no weight).
  const weightOf = (coding: string): number => weights.get(coding) ?? weights.get("*") ?? (coding === "identity" ? Number.MIN_VALUE : 0);
  // Smallest first; only a strictly higher qvalue displaces an earlier candidate.
  const candidates = [
    ...PRECOMPRESSED.flatMap(({ encoding }) => asset.encoded.get(encoding) ?? []),
    asset.identity,
  ];
  let best: AssetVariant | undefined;
  let bestWeight = 0;
  for (const variant of candidates) {
    const weight = weightOf(variant.encoding ?? "identity");
    if (weight > bestWeight) {
      best = variant;
      bestWeight = weight;
    }
  }
  return best ?? asset.identity;
}

/**
 * True when `If-None-Match` names `etag` (weak comparison, RFC 9110 §13.1.2: a `W/` prefix a
 * proxy added still matches) or is `*`.
 */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch.trim() === "*") {
    return true;
  }
  return ifNoneMatch.split(",").some((candidate) => candidate.trim().replace(/^W\//, "") === etag);
}

/** A whole HTTP answer for one asset request. */
export interface AssetAnswer {
  status: "200 OK" | "304 Not Modified";
  headers: Record<string, string>;
  body: Buffer | string;
}

/**
 * The answer to `GET /assets/<file>` for the request's `Accept-Encoding` and `If-None-Match`
 * headers (empty strings when absent): 304 with the validators when the client's copy of the
 * chosen encoding is current, else 200 with the chosen bytes.
 */
export function answerAsset(asset: StaticAsset, request: { acceptEncoding: string; ifNoneMatch: string }): AssetAnswer {
  const variant = selectVariant(asset, request.acceptEncoding);
  // A shared cache must keep one copy per encoding, and a 304 carries the same validators.
  const validators = { "cache-control": asset.cacheControl, etag: variant.etag, vary: "Accept-Encoding" };
  if (request.ifNoneMatch !== "" && etagMatches(request.ifNoneMatch, variant.etag)) {
    return { status: "304 Not Modified", headers: validators, body: "" };
  }
  return {
    status: "200 OK",
    headers: {
      "content-type": asset.contentType,
      ...(variant.encoding ? { "content-encoding": variant.encoding } : {}),
      ...validators,
      "access-control-allow-origin": "*",
    },
    body: variant.body,
  };
}
