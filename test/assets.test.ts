/**
 * `/assets/<file>` served like a web server: brotli and gzip negotiated from `Accept-Encoding`
 * (q-values included), one ETag per encoding with 304 for a current one, HEAD, and caching by
 * name — the content-hashed bundle is immutable, the stable entry is revalidated. Real server,
 * real HTTP over loopback, the bundle the vitest global setup built into dist/.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IMMUTABLE_CACHE_CONTROL, REVALIDATE_CACHE_CONTROL, loadStaticAssets } from "../server/assets.ts";
import { startServer, type RunningServer } from "../server/server.ts";

/** One HTTP answer with its body as bytes, exactly as sent (node:http never decompresses). */
interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

let server: RunningServer;
/** The largest content-hashed module the stable entry `webrtc-room.js` imports (the shared chunk). */
let bundleName: string;
/** The bundle's bytes as built. */
let bundleBytes: Buffer;

function request(path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host: "127.0.0.1", port: server.port, path, method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on("error", reject);
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/** The body as the client would read it after undoing `Content-Encoding`. */
function decoded(answer: Answer): Buffer {
  switch (answer.headers["content-encoding"]) {
    case undefined:
      return answer.body;
    case "gzip":
      return gunzipSync(answer.body);
    case "br":
      return brotliDecompressSync(answer.body);
    default:
      throw new Error(`unexpected content-encoding ${answer.headers["content-encoding"]}`);
  }
}

beforeAll(async () => {
  server = await startServer({ host: "127.0.0.1", port: 0, iceServers: [] });
  const entry = (await request("/assets/webrtc-room.js")).body.toString("utf8");
  if (!/^(import "\.\/chunk\.[A-Z2-7]{8}\.js";\n)+export \* from "\.\/webrtc-room\.[A-Z2-7]{8}\.js";\n$/.test(entry)) {
    throw new Error(`dist/webrtc-room.js is not the importing entry (did the global setup build?): ${entry.slice(0, 300)}`);
  }
  const modules = await Promise.all([...entry.matchAll(/"\.\/([\w.-]+)"/g)].map(async ([, name]) => ({ name: name as string, body: (await request(`/assets/${name}`)).body })));
  const largest = modules.reduce((a, b) => (b.body.byteLength > a.body.byteLength ? b : a));
  bundleName = largest.name;
  bundleBytes = largest.body;
});

afterAll(async () => {
  await server?.close();
});

describe("caching by name", () => {
  it("the stable entry re-exports the content-hashed bundle and is revalidated on every use", async () => {
    const entry = await request("/assets/webrtc-room.js", { "accept-encoding": "gzip, deflate, br" });
    expect(entry.status).toBe(200);
    expect(entry.headers["cache-control"]).toBe(REVALIDATE_CACHE_CONTROL);
    expect(entry.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(entry.headers.etag).toMatch(/^"[\w-]+"$/);
    // Too small for compression to pay: sent as it is whatever the client accepts.
    expect(entry.headers["content-encoding"]).toBeUndefined();
    expect(entry.body.toString("utf8")).toBe(`export * from "./${bundleName}";\n`);
  });

  it.each(["", ".map"])("the content-hashed bundle%s is cached for a year as immutable", async (suffix) => {
    const answer = await request(`/assets/${bundleName}${suffix}`, { "accept-encoding": "br" });
    expect(answer.status).toBe(200);
    expect(answer.headers["cache-control"]).toBe(IMMUTABLE_CACHE_CONTROL);
    expect(answer.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(answer.headers["content-type"]).toBe(suffix === "" ? "text/javascript; charset=utf-8" : "application/json; charset=utf-8");
    expect(answer.headers["content-encoding"]).toBe("br");
    expect(decoded(answer).byteLength).toBeGreaterThan(0);
  });

  it("the bundle names its own source map", () => {
    expect(bundleBytes.toString("utf8")).toContain(`//# sourceMappingURL=${bundleName}.map`);
  });
});

describe("content negotiation", () => {
  it.each([
    { acceptEncoding: undefined, expected: undefined },
    { acceptEncoding: "gzip", expected: "gzip" },
    { acceptEncoding: "br", expected: "br" },
    { acceptEncoding: "gzip, deflate, br, zstd", expected: "br" },
    { acceptEncoding: "br;q=0, gzip", expected: "gzip" },
    { acceptEncoding: "br;q=0", expected: undefined },
    { acceptEncoding: "br;q=0, gzip;q=0", expected: undefined },
    { acceptEncoding: "gzip;q=0.5, br;q=0.4", expected: "gzip" },
    { acceptEncoding: "gzip;q=0.5, br;q=0.5", expected: "br" },
    { acceptEncoding: "gzip;q=1, identity;q=0.5, br;q=0.001", expected: "gzip" },
    { acceptEncoding: "identity;q=1, gzip;q=0.9", expected: undefined },
    { acceptEncoding: "*", expected: "br" },
    { acceptEncoding: "*;q=0.1, gzip", expected: "gzip" },
    { acceptEncoding: "br;q=0, *", expected: "gzip" },
    { acceptEncoding: "identity", expected: undefined },
    { acceptEncoding: "deflate", expected: undefined },
    { acceptEncoding: "GZIP", expected: "gzip" },
    { acceptEncoding: "x-gzip", expected: "gzip" },
    { acceptEncoding: " br ; q=0.8 ", expected: "br" },
    { acceptEncoding: "br;q=2, gzip", expected: "gzip" },
    { acceptEncoding: "br;q=abc", expected: undefined },
    { acceptEncoding: "", expected: undefined },
  ])("Accept-Encoding $acceptEncoding gets content-encoding $expected with the same bytes", async ({ acceptEncoding, expected }) => {
    const answer = await request(`/assets/${bundleName}`, acceptEncoding === undefined ? {} : { "accept-encoding": acceptEncoding });
    expect(answer.status).toBe(200);
    expect(answer.headers["content-encoding"]).toBe(expected);
    expect(answer.headers.vary).toBe("Accept-Encoding");
    expect(Number(answer.headers["content-length"])).toBe(answer.body.byteLength);
    expect(decoded(answer).equals(bundleBytes)).toBe(true);
    if (expected !== undefined) {
      expect(answer.body.byteLength).toBeLessThan(bundleBytes.byteLength);
    }
  });

  it("brotli is smaller than gzip, which is smaller than the bundle", async () => {
    const br = await request(`/assets/${bundleName}`, { "accept-encoding": "br" });
    const gzip = await request(`/assets/${bundleName}`, { "accept-encoding": "gzip" });
    expect(br.body.byteLength).toBeLessThan(gzip.body.byteLength);
    expect(gzip.body.byteLength).toBeLessThan(bundleBytes.byteLength);
  });
});

describe("conditional requests", () => {
  const ENCODINGS = [
    { acceptEncoding: "identity", encoding: undefined },
    { acceptEncoding: "gzip", encoding: "gzip" },
    { acceptEncoding: "br", encoding: "br" },
  ];

  it("each encoding has its own ETag", async () => {
    const etags = await Promise.all(ENCODINGS.map(async ({ acceptEncoding }) => (await request(`/assets/${bundleName}`, { "accept-encoding": acceptEncoding })).headers.etag));
    expect(new Set(etags).size).toBe(ENCODINGS.length);
    for (const etag of etags) {
      expect(etag).toMatch(/^"[\w-]+"$/);
    }
  });

  it.each(ENCODINGS)("a current ETag for $acceptEncoding is answered 304 without a body, with the same validators", async ({ acceptEncoding }) => {
    for (const path of [`/assets/${bundleName}`, "/assets/webrtc-room.js"]) {
      const first = await request(path, { "accept-encoding": acceptEncoding });
      const etag = first.headers.etag ?? "";
      for (const ifNoneMatch of [etag, `W/${etag}`, `"stale", ${etag}`, "*"]) {
        const again = await request(path, { "accept-encoding": acceptEncoding, "if-none-match": ifNoneMatch });
        expect(again.status, `${path} If-None-Match: ${ifNoneMatch}`).toBe(304);
        expect(again.body.byteLength).toBe(0);
        expect(again.headers.etag).toBe(etag);
        expect(again.headers["cache-control"]).toBe(first.headers["cache-control"]);
        expect(again.headers.vary).toBe("Accept-Encoding");
      }
    }
  });

  it.each(ENCODINGS)("the ETag of another encoding does not make $acceptEncoding a 304", async ({ acceptEncoding, encoding }) => {
    const others = ENCODINGS.filter((other) => other.acceptEncoding !== acceptEncoding);
    for (const other of others) {
      const otherEtag = (await request(`/assets/${bundleName}`, { "accept-encoding": other.acceptEncoding })).headers.etag ?? "";
      const answer = await request(`/assets/${bundleName}`, { "accept-encoding": acceptEncoding, "if-none-match": otherEtag });
      expect(answer.status).toBe(200);
      expect(answer.headers["content-encoding"]).toBe(encoding);
      expect(decoded(answer).equals(bundleBytes)).toBe(true);
    }
  });

  it("a stale ETag gets the whole file", async () => {
    const answer = await request(`/assets/${bundleName}`, { "accept-encoding": "br", "if-none-match": '"stale"' });
    expect(answer.status).toBe(200);
    expect(decoded(answer).equals(bundleBytes)).toBe(true);
  });
});

describe("HEAD", () => {
  it.each([undefined, "gzip", "br"])("HEAD with Accept-Encoding %s answers the GET's headers without a body", async (acceptEncoding) => {
    const headers: Record<string, string> = acceptEncoding === undefined ? {} : { "accept-encoding": acceptEncoding };
    for (const path of [`/assets/${bundleName}`, "/assets/webrtc-room.js"]) {
      const get = await request(path, headers);
      const head = await request(path, headers, "HEAD");
      expect(head.status).toBe(200);
      expect(head.body.byteLength).toBe(0);
      for (const name of ["content-length", "content-encoding", "content-type", "etag", "cache-control", "vary"]) {
        expect(head.headers[name], `${path} ${name}`).toBe(get.headers[name]);
      }
    }
  });

  it("HEAD with a current ETag answers 304", async () => {
    const etag = (await request(`/assets/${bundleName}`, { "accept-encoding": "gzip" })).headers.etag ?? "";
    const head = await request(`/assets/${bundleName}`, { "accept-encoding": "gzip", "if-none-match": etag }, "HEAD");
    expect(head.status).toBe(304);
    expect(head.body.byteLength).toBe(0);
  });
});

describe("failure cases", () => {
  it("an unknown asset is 404", async () => {
    for (const path of ["/assets/nothing.js", `/assets/${bundleName}.gz`, `/assets/${bundleName}.br`]) {
      const answer = await request(path, { "accept-encoding": "br, gzip" });
      expect(answer.status, path).toBe(404);
    }
  });

  it("a compressed sibling that does not match its file is not offered", async () => {
    const directory = await mkdtemp(join(tmpdir(), "webrtc-room-assets-"));
    try {
      const body = Buffer.from(`export const a = "${"a".repeat(2000)}";\n`);
      await writeFile(join(directory, "a.js"), body);
      // From another build: valid gzip, other bytes.
      await writeFile(join(directory, "a.js.gz"), gzipSync(Buffer.from("export const a = 1;\n")));
      // Not brotli at all.
      await writeFile(join(directory, "a.js.br"), "garbage");
      const assets = await loadStaticAssets(directory);
      const asset = assets.get("a.js");
      expect(asset?.identity.body.equals(body)).toBe(true);
      expect([...(asset?.encoded.keys() ?? [])]).toEqual([]);
      expect(asset?.cacheControl).toBe(REVALIDATE_CACHE_CONTROL);
      expect(assets.has("a.js.gz")).toBe(false);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it("a missing dist folder serves no assets instead of failing", async () => {
    expect((await loadStaticAssets(join(tmpdir(), "webrtc-room-no-such-folder"))).size).toBe(0);
  });
});
