/**
 * The one place that loads uWebSockets.js. The project depends on an npm republish of it whose
 * loader silently falls back to a slow JavaScript shim when no native binary matches the running
 * Node.js; this module detects that so the server can say so loudly.
 */
import uws from "uWebSockets.js";

/** The loaded uWebSockets.js module (native, or the shim). */
export const uWS = uws;

/**
 * True when the native binary loaded. The shim exports only `App` and a few helpers; the native
 * build also exports `SSLApp` and `getParts`.
 */
export const isNativeUws: boolean = typeof uws.SSLApp === "function" && typeof uws.getParts === "function";

/** Banner printed at start-up when {@link isNativeUws} is false. */
export function shimWarning(): string {
  const bar = "!".repeat(78);
  return [
    bar,
    `!! uWebSockets.js loaded its JavaScript FALLBACK, not the native binary (Node ${process.version}).`,
    "!! Throughput is a fraction of normal and TLS is not available.",
    "!! Run on Node.js 20 (the bundled binaries target ABI 115), or install an official uWebSockets.js build.",
    bar,
  ].join("\n");
}
