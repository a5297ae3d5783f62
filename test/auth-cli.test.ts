/**
 * Auth modes as an operator meets them: `webrtc-room serve` and `webrtc-room token` as processes
 * (the compiled CLI), a real socket against the served port.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { startServeProcess, type ServeProcess } from "./support/serve-process.ts";
import { TestClient } from "./support/ws-client.ts";

const BIN = fileURLToPath(new URL("../bin/webrtc-room.js", import.meta.url));
const SECRET = "an-operator-secret-of-32-bytes-or-more";

const processes: ServeProcess[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const server of processes.splice(0)) {
    server.child.kill("SIGKILL");
  }
});

async function serve(args: readonly string[]): Promise<ServeProcess> {
  const server = await startServeProcess(args);
  processes.push(server);
  return server;
}

/** Runs `webrtc-room token …` and resolves with what it printed, trimmed. */
async function mint(args: readonly string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, "token", ...args], { env: { ...process.env, WEBRTC_ROOM_AUTH_SECRET: SECRET } });
  return stdout.trim();
}

describe("webrtc-room serve auth modes", () => {
  it("open mode on loopback starts with a loud warning", async () => {
    const server = await serve([]);
    expect(server.output()).toMatch(/OPEN MODE/);
    expect(server.output()).toMatch(/loopback/);
  });

  it("refuses to start in token mode without a key, saying which flags give one (exit code 2)", async () => {
    await expect(startServeProcess(["--auth", "token"])).rejects.toThrow(/exited \(2\)[\s\S]*--auth token needs[\s\S]*--auth-secret[\s\S]*--auth-public-key/);
  });

  it("refuses a non-loopback host in open mode unless --auth open is given explicitly", async () => {
    await expect(startServeProcess(["--host", "0.0.0.0"])).rejects.toThrow(/exited \(2\)[\s\S]*refusing to listen on 0\.0\.0\.0/);
    const explicit = await serve(["--host", "0.0.0.0", "--auth", "open"]);
    expect(explicit.output()).toMatch(/OPEN MODE[\s\S]*reachable from the network/);
  });
});

describe("webrtc-room token against webrtc-room serve --auth token", () => {
  it("a minted join token joins its room; a join without one is refused with token_missing", async () => {
    const server = await serve(["--auth", "token", "--auth-secret", SECRET]);
    expect(server.output()).not.toMatch(/OPEN MODE/);
    const url = `ws://127.0.0.1:${server.port}/ws`;
    const without = await TestClient.connect(url);
    clients.push(without);
    without.send({ type: "new_user", room: "standup", username: "Mallory" });
    expect(await without.next("error")).toMatchObject({ code: "token_missing" });

    const joiner = await TestClient.connect(url);
    clients.push(joiner);
    joiner.send({ type: "new_user", room: "standup", username: "ignored", token: await mint(["--room", "standup", "--name", "Ada", "--ttl", "2m"]) });
    expect(await joiner.next("joined")).toMatchObject({ room: "standup", username: "Ada" });

    const caller = await TestClient.connect(url);
    clients.push(caller);
    caller.send({ type: "login", userID: "someone-else", token: await mint(["--login", "--user", "bob", "--name", "Bob"]) });
    expect(await caller.next("loginResponse")).toMatchObject({ content: "accepted", userID: "bob", username: "Bob" });
  });
});
