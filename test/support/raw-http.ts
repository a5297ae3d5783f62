/**
 * Raw HTTP over a TCP socket, for requests a well-behaved client library refuses to send:
 * malformed percent-encodings, odd WebSocket handshakes, forged headers.
 */
import net from "node:net";

/** What came back: the status line's code, the headers (lower-case names) and the body. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `request` (a complete HTTP/1.1 request, CRLF line ends) to `port` on loopback and reads
 * the first response. Resolves `"closed"` when the server closes the connection without one.
 */
export function rawRequest(port: number, request: string | Buffer): Promise<RawResponse | "closed"> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const isHead = Buffer.from(request.slice(0, 5)).toString("latin1") === "HEAD ";
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (value: RawResponse | "closed"): void => {
      if (!settled) {
        settled = true;
        socket.destroy();
        resolve(value);
      }
    };
    const tryParse = (): void => {
      const text = Buffer.concat(chunks).toString("latin1");
      const headerEnd = text.indexOf("\r\n\r\n");
      if (headerEnd < 0) {
        return;
      }
      const [statusLine = "", ...headerLines] = text.slice(0, headerEnd).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const status = Number(statusLine.split(" ")[1]);
      const body = text.slice(headerEnd + 4);
      const length = headers["content-length"] === undefined ? undefined : Number(headers["content-length"]);
      const bodiless = status === 101 || status === 304 || isHead;
      if (bodiless || (length !== undefined && Buffer.byteLength(body, "latin1") >= length)) {
        settle({ status, headers, body });
      }
    };
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      tryParse();
    });
    socket.on("close", () => {
      tryParse();
      settle("closed");
    });
    socket.on("error", (error) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
    socket.write(request);
  });
}

/** A GET request for `path` (sent byte for byte, no encoding applied) with extra header lines. */
export function getRequest(path: string, extraHeaders: readonly string[] = []): string {
  return [`GET ${path} HTTP/1.1`, "Host: 127.0.0.1", ...extraHeaders, "", ""].join("\r\n");
}

/** A WebSocket upgrade request for `path` with `version` and extra header lines. */
export function upgradeRequest(path: string, options: { version?: string; key?: string; extraHeaders?: readonly string[] } = {}): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    "Host: 127.0.0.1",
    "Upgrade: websocket",
    "Connection: Upgrade",
    ...(options.key === "" ? [] : [`Sec-WebSocket-Key: ${options.key ?? "dGhlIHNhbXBsZSBub25jZQ=="}`]),
    `Sec-WebSocket-Version: ${options.version ?? "13"}`,
    ...(options.extraHeaders ?? []),
  ];
  return [...lines, "", ""].join("\r\n");
}
