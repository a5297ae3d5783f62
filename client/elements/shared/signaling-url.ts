/**
 * Resolves the `server` attribute of the elements into the signaling WebSocket URL.
 */

/** Path of the signaling endpoint on a webrtc-room server (`WEBSOCKET_PATH` on the server side). */
export const SIGNALING_PATH = "/ws";

/**
 * The signaling URL for `server`, resolved against `base` (the page's URL):
 * - empty: the page's own origin, `ws(s)://<host>/ws`;
 * - an `http(s)` URL: same host with `ws(s)`, and `/ws` appended to its path (so a server behind
 *   a path prefix such as `https://example.org/video` works);
 * - a `ws(s)` URL: used as given.
 *
 * Throws a `TypeError` for a value that is not a URL or uses another scheme.
 */
export function signalingUrl(server: string, base: string): string {
  const url = new URL(server.trim() || "/", base);
  switch (url.protocol) {
    case "ws:":
    case "wss:":
      return url.href;
    case "http:":
    case "https:": {
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      url.pathname = `${url.pathname.replace(/\/+$/, "")}${SIGNALING_PATH}`;
      url.search = "";
      url.hash = "";
      return url.href;
    }
    default:
      throw new TypeError(`server must be an http(s) or ws(s) URL, got "${server}"`);
  }
}
