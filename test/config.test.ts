/**
 * Configuration: precedence, validation, and the docs staying true to the option table.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_CONFIG, OPEN_MODE_DEFAULT_HOST, SERVER_OPTIONS, loadConfig, validateConfig } from "../server/config.ts";

describe("loadConfig (happy path)", () => {
  it("uses the defaults when nothing is given, on loopback since open mode was not asked for", () => {
    expect(loadConfig([], {})).toEqual({ ...DEFAULT_CONFIG, host: OPEN_MODE_DEFAULT_HOST });
  });

  it("reads environment variables and lets flags win over them", () => {
    const config = loadConfig(["--port", "9000"], { PORT: "7000", WEBRTC_ROOM_ROOM_CAPACITY: "4" });
    expect(config.port).toBe(9000);
    expect(config.roomCapacity).toBe(4);
  });

  it("turns STUN URLs into ICE servers, and an empty list into none", () => {
    expect(loadConfig(["--stun", "stun:a.test:3478, stun:b.test:3478"], {}).iceServers).toEqual([{ urls: "stun:a.test:3478" }, { urls: "stun:b.test:3478" }]);
    expect(loadConfig(["--stun", ""], {}).iceServers).toEqual([]);
  });

  it("splits avatar hosts on commas", () => {
    expect(loadConfig(["--avatar-hosts", "cdn.example.test, img.example.test:8443"], {}).avatarHosts).toEqual(["cdn.example.test", "img.example.test:8443"]);
  });

  it("reads the presence window from its flag and its environment variable; 0 is allowed", () => {
    expect(DEFAULT_CONFIG.presenceWindowMs).toBe(50);
    expect(loadConfig(["--presence-window-ms", "0"], {}).presenceWindowMs).toBe(0);
    expect(loadConfig([], { WEBRTC_ROOM_PRESENCE_WINDOW_MS: "200" }).presenceWindowMs).toBe(200);
  });

  it("splits allowed origins on commas", () => {
    expect(loadConfig([], { WEBRTC_ROOM_ALLOWED_ORIGINS: "https://a.test,https://b.test" }).allowedOrigins).toEqual(["https://a.test", "https://b.test"]);
  });
});

describe("loadConfig (failure cases)", () => {
  it.each([
    [["--port", "eighty"], /--port/],
    [["--port", "70000"], /65535/],
    [["--idle-timeout", "10"], /multiple of 4/],
    [["--room-capacity", "0"], /roomCapacity/],
    [["--tls-cert", "cert.pem"], /go together/],
    [["--avatar-hosts", "https://cdn.example.test/"], /--avatar-hosts/],
    [["--presence-window-ms=-1"], /--presence-window-ms/],
  ])("refuses %j with a message naming the option", (argv, pattern) => {
    expect(() => loadConfig(argv, {})).toThrow(ConfigError);
    expect(() => loadConfig(argv, {})).toThrow(pattern);
  });

  it("refuses a presence window below -1 (-1, coalescing off, is for the benchmark's baseline only)", () => {
    expect(() => validateConfig({ ...DEFAULT_CONFIG, presenceWindowMs: -2 })).toThrow(/presence-window-ms/);
    expect(validateConfig({ ...DEFAULT_CONFIG, presenceWindowMs: -1 }).presenceWindowMs).toBe(-1);
  });

  it("refuses an unknown flag", () => {
    expect(() => loadConfig(["--prot", "1"], {})).toThrow(/--prot/);
  });
});

/** A secret of exactly the 32 bytes HS256 needs. */
const SECRET = "s".repeat(32);

describe("auth configuration", () => {
  it("listens on every interface in open mode only when --auth open (or WEBRTC_ROOM_AUTH) says so", () => {
    expect(loadConfig(["--auth", "open"], {}).host).toBe("0.0.0.0");
    expect(loadConfig(["--auth", "open", "--host", "0.0.0.0"], {}).host).toBe("0.0.0.0");
    expect(loadConfig(["--host", "0.0.0.0"], { WEBRTC_ROOM_AUTH: "open" }).host).toBe("0.0.0.0");
  });

  it("accepts any loopback host in implicit open mode", () => {
    for (const host of ["127.0.0.1", "127.0.1.1", "::1", "localhost"]) {
      expect(loadConfig(["--host", host], {}).host).toBe(host);
    }
  });

  it("refuses a non-loopback host in implicit open mode, naming --auth", () => {
    for (const argv of [["--host", "0.0.0.0"], ["--host", "192.168.1.10"]]) {
      expect(() => loadConfig(argv, {})).toThrow(ConfigError);
      expect(() => loadConfig(argv, {})).toThrow(/--auth open/);
    }
    expect(() => loadConfig([], { HOST: "::" })).toThrow(/refusing to listen/);
  });

  it("reads token mode with its secret, issuer and public key from flags and environment", () => {
    const fromFlags = loadConfig(["--auth", "token", "--auth-secret", SECRET, "--auth-issuer", "https://app.test"], {});
    expect(fromFlags).toMatchObject({ auth: "token", authSecret: SECRET, authIssuer: "https://app.test", host: "0.0.0.0" });
    const jwk = '{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}';
    expect(loadConfig([], { WEBRTC_ROOM_AUTH: "token", WEBRTC_ROOM_AUTH_PUBLIC_KEY: jwk }).authPublicKey).toBe(jwk);
  });

  it.each([
    [["--auth", "token"], /--auth token needs/],
    [["--auth", "tokens"], /--auth takes open or token/],
    [["--auth", "token", "--auth-secret", "too-short"], /at least 32 bytes/],
    [["--auth", "token", "--auth-secret", SECRET, "--auth-public-key", '{"kty":"OKP"}'], /exclude each other/],
    [["--auth", "token", "--auth-public-key", "/nonexistent/key.pem"], /cannot read/],
  ])("refuses %j with a clear message", (argv, pattern) => {
    expect(() => loadConfig(argv, {})).toThrow(ConfigError);
    expect(() => loadConfig(argv, {})).toThrow(pattern);
  });
});

describe("docs/configuration.md", () => {
  it("documents every flag and environment variable", async () => {
    const docs = await readFile(new URL("../docs/configuration.md", import.meta.url), "utf8");
    for (const option of SERVER_OPTIONS) {
      expect(docs).toContain(`\`--${option.flag}\``);
      expect(docs).toContain(`\`${option.env}\``);
    }
  });
});
