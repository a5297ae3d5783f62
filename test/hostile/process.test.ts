/**
 * The server as a process: SIGTERM ends it with exit code 0 within its shutdown deadline whatever
 * clients hold open, and a server that reaches its open-file limit keeps answering `/healthz`
 * without spinning.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { getRequest, rawRequest, upgradeRequest } from "../support/raw-http.ts";
import { cpuTicks, startServeProcess, type ServeProcess } from "../support/serve-process.ts";

const SHUTDOWN_TIMEOUT_MS = 1000;
/**
 * How long a process may take to exit after SIGTERM before the test calls it stuck. Generous for a
 * loaded machine; what it catches is a process that never exits, or waits for idle timeouts (15 s+).
 */
const EXIT_BOUND_MS = SHUTDOWN_TIMEOUT_MS + 6000;

const processes: ServeProcess[] = [];
const sockets: Array<net.Socket | WebSocket> = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) {
    socket instanceof WebSocket ? socket.terminate() : socket.destroy();
  }
  for (const server of processes.splice(0)) {
    server.child.kill("SIGKILL");
  }
});

async function serve(args: readonly string[] = [], options: { openFileLimit?: number } = {}): Promise<ServeProcess> {
  const server = await startServeProcess(["--shutdown-timeout-ms", String(SHUTDOWN_TIMEOUT_MS), ...args], options);
  processes.push(server);
  return server;
}

/** Sends SIGTERM and resolves with the exit code, or "stuck" when the process outlives the bound. */
async function terminate(server: ServeProcess): Promise<number | string> {
  server.child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("stuck"), EXIT_BOUND_MS);
  });
  const outcome = await Promise.race([server.exited, stuck]);
  clearTimeout(timer);
  return outcome;
}

/** A keep-alive HTTP connection that asks for `/healthz` every `intervalMs` until it is closed. */
function keepAliveClient(port: number, intervalMs: number): { socket: net.Socket; answers: () => number } {
  const socket = net.connect(port, "127.0.0.1");
  sockets.push(socket);
  let answers = 0;
  socket.on("data", (chunk) => {
    answers += chunk.toString("latin1").split("HTTP/1.1 ").length - 1;
  });
  socket.on("error", () => undefined);
  const timer = setInterval(() => {
    if (!socket.destroyed) {
      socket.write(getRequest("/healthz"));
    }
  }, intervalMs);
  socket.once("close", () => clearInterval(timer));
  socket.write(getRequest("/healthz"));
  return { socket, answers: () => answers };
}

/** A WebSocket whose client completed the handshake and then neither reads nor answers a close. */
async function deafWebSocket(port: number): Promise<net.Socket> {
  const socket = net.connect(port, "127.0.0.1");
  sockets.push(socket);
  socket.on("error", () => undefined);
  await new Promise<void>((resolve) => {
    socket.once("data", () => {
      socket.pause();
      resolve();
    });
    socket.write(upgradeRequest("/ws"));
  });
  return socket;
}

describe("SIGTERM", () => {
  it("exits 0 although a keep-alive client keeps sending requests, which are answered with Connection: close", async () => {
    const server = await serve();
    const client = keepAliveClient(server.port, 100);
    let closedByServer = false;
    client.socket.once("close", () => (closedByServer = true));
    await expect.poll(() => client.answers(), { timeout: 10_000 }).toBeGreaterThan(2);
    expect(await terminate(server)).toBe(0);
    expect(closedByServer || client.socket.destroyed).toBe(true);
  });

  it("exits 0 past an idle keep-alive connection and a WebSocket client that stopped reading", async () => {
    const server = await serve();
    const idle = net.connect(server.port, "127.0.0.1");
    sockets.push(idle);
    idle.on("error", () => undefined);
    await new Promise<void>((resolve) => {
      idle.once("data", () => resolve());
      idle.write(getRequest("/healthz"));
    });
    await deafWebSocket(server.port);
    expect(await terminate(server)).toBe(0);
    expect(server.output()).toContain("SIGTERM received");
  });

  it("sends 1012 to WebSocket clients, which close cleanly, and exits 0", async () => {
    const server = await serve();
    const clients = await Promise.all(Array.from({ length: 5 }, () => new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
      sockets.push(socket);
      socket.once("open", () => resolve(socket));
      socket.once("error", reject);
    })));
    const codes = clients.map((socket) => new Promise<number>((resolve) => socket.once("close", (code) => resolve(code))));
    expect(await terminate(server)).toBe(0);
    expect(await Promise.all(codes)).toEqual([1012, 1012, 1012, 1012, 1012]);
  });
});

describe("the open-file limit", () => {
  it("under ulimit -n 256 connections past the derived ceiling get 503; /healthz answers and the process does not spin", async () => {
    const server = await serve(["--max-connections-per-address", "1000", "--upgrade-burst-per-address", "1000"], { openFileLimit: 256 });
    const outcomes = await Promise.all(Array.from({ length: 300 }, () => new Promise<"open" | number>((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
      sockets.push(socket);
      socket.once("open", () => resolve("open"));
      socket.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
      socket.once("error", () => resolve(0));
    })));
    const opened = outcomes.filter((outcome) => outcome === "open").length;
    // Three quarters of 256 descriptors.
    expect(opened).toBe(192);
    expect(outcomes.filter((outcome) => outcome === 503)).toHaveLength(300 - 192);
    const health = await rawRequest(server.port, getRequest("/healthz"));
    expect(health === "closed" ? "closed" : health.status).toBe(200);
    const pid = server.child.pid ?? 0;
    const before = cpuTicks(pid);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // A process spinning in its accept loop burns ~100 ticks a second; an idle one close to none.
    expect(cpuTicks(pid) - before).toBeLessThan(50);
  });
});
