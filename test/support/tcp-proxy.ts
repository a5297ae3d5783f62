/**
 * A TCP proxy on loopback for resilience tests: clients connect to it instead of the server, and
 * a test can cut every connection through it at once, as a network loss would.
 *
 * ```ts
 * const proxy = await startTcpProxy({ port: server.port });
 * const peer = new HeadlessPeer({ url: proxy.wsUrl, … });
 * await proxy.cut(2_000); // both directions destroyed, new connections refused for 2 s
 * ```
 *
 * A cut destroys both halves without a WebSocket close frame: the client sees close code 1006 and
 * the server an abrupt close, exactly like a pulled cable that TCP noticed. While cut, new
 * connections are accepted and reset at once (the client's handshake fails fast, like a refused
 * connection), so reconnect attempts fail until the cut is over.
 *
 * When the server closes a connection (e.g. 1012 on shutdown), the client gets the close frame and
 * a FIN as usual, but the server's half is answered with a reset instead of a FIN. That keeps the
 * server's port out of TIME_WAIT: uWebSockets.js listens without `SO_REUSEADDR`, so a port whose
 * server closed connections cannot be bound again for 60 s, and a test that restarts the server
 * on the same port would wait that long.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

/** Options of {@link startTcpProxy}. */
export interface TcpProxyOptions {
  /** Port of the server behind the proxy (on `targetHost`). */
  port: number;
  /** Defaults to 127.0.0.1. */
  targetHost?: string;
}

/** A running proxy. */
export interface TcpProxy {
  /** The proxy's own port on 127.0.0.1. */
  readonly port: number;
  /** Signaling URL through the proxy. */
  readonly wsUrl: string;
  /** Connections currently relayed. */
  connectionCount(): number;
  /** Connections accepted since the start (refused ones during a cut included). */
  acceptedCount(): number;
  /** True while a cut is in progress. */
  readonly isCut: boolean;
  /**
   * Destroys every relayed connection and refuses new ones for `ms`. Resolves when the cut is
   * over and connections are accepted again.
   */
  cut(ms: number): Promise<void>;
  /** Destroys every connection and stops listening; safe to call twice. */
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port that relays to `targetHost:port`. */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const targetHost = options.targetHost ?? "127.0.0.1";
  const pairs = new Set<[Socket, Socket]>();
  /** Every socket still open, relayed or not, so that `close()` can end them all. */
  const sockets = new Set<Socket>();
  let cutUntilMs = 0;
  let accepted = 0;

  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const server: Server = createServer((client) => {
    accepted += 1;
    track(client);
    if (Date.now() < cutUntilMs) {
      client.resetAndDestroy();
      return;
    }
    // Half-open allowed so that Node does not answer the server's FIN with its own (see above).
    const upstream = createConnection({ host: targetHost, port: options.port, allowHalfOpen: true });
    track(upstream);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const teardown = (): void => {
      if (!pairs.delete(pair)) {
        return;
      }
      client.destroy();
      upstream.destroy();
    };
    client.on("error", teardown);
    upstream.on("error", teardown);
    client.on("close", teardown);
    upstream.on("close", teardown);
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.on("end", () => {
      // The server closed first: pass the FIN on to the client, reset the server's side.
      pairs.delete(pair);
      client.end();
      upstream.resetAndDestroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  const destroyAll = (): void => {
    const current = [...pairs];
    pairs.clear();
    for (const [client, upstream] of current) {
      // A reset, not a FIN: neither side gets to say goodbye.
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
  };

  let closing: Promise<void> | undefined;
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    connectionCount: () => pairs.size,
    acceptedCount: () => accepted,
    get isCut() {
      return Date.now() < cutUntilMs;
    },
    cut(ms) {
      cutUntilMs = Date.now() + ms;
      destroyAll();
      return new Promise((resolve) => setTimeout(resolve, ms));
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        destroyAll();
        server.close(() => resolve());
        for (const socket of sockets) {
          socket.destroy();
        }
      });
      return closing;
    },
  };
}
