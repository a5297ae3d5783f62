/**
 * Peers that disappear without leaving: the server notices (TCP close, or silence past its idle
 * timeout) and the remaining peers drop exactly that peer.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import type { RunningServer } from "../../server/server.ts";
import type { HeadlessPeer } from "../../client/headless/peers.ts";
import { idOf, isFullMesh, joinPeers, leaveAll, startTestServer, waitFor } from "./helpers.ts";

/** Shortest idle timeout the server accepts; a silent connection is dropped within about this long. */
const IDLE_TIMEOUT_SECONDS = 8;

/**
 * An abrupt disconnect suspends the participant for the resume grace window before the others are
 * told; a short window keeps these tests quick (the default is 15 s).
 */
const RESUME_GRACE_MS = 2_000;

let server: RunningServer;
const opened: HeadlessPeer[] = [];
const rawSockets: Socket[] = [];

/** A `ws` client that keeps its TCP socket reachable, so a test can cut or freeze it. */
class TappedWebSocket extends WebSocket {
  constructor(url: string) {
    super(url);
    this.once("upgrade", (response) => rawSockets.push(response.socket));
  }
}

beforeAll(async () => {
  server = await startTestServer({ idleTimeoutSeconds: IDLE_TIMEOUT_SECONDS, resumeGraceMs: RESUME_GRACE_MS });
});

afterEach(async () => {
  await leaveAll(opened.splice(0));
  for (const socket of rawSockets.splice(0)) {
    socket.destroy();
  }
});

afterAll(async () => {
  await server.close();
});

/** Joins three witnesses plus one peer that will vanish, and waits for the full mesh of four. */
async function meshWithVictim(room: string): Promise<{ witnesses: HeadlessPeer[]; victim: HeadlessPeer }> {
  const witnesses = await joinPeers(server.wsUrl, room, 3);
  // The victim must stay gone: without reconnecting it cannot resume (test/resilience covers that).
  const [victim] = await joinPeers(server.wsUrl, room, 1, { WebSocket: TappedWebSocket, reconnect: false }, "victim");
  if (!victim) {
    throw new Error("join failed");
  }
  opened.push(...witnesses, victim);
  await waitFor("full mesh of 4", () => isFullMesh([...witnesses, victim]));
  return { witnesses, victim };
}

/**
 * Runs `vanish`, then waits until every witness dropped `victimId` (reason "left") and checks
 * that nobody else was dropped.
 */
async function expectDroppedAfter(
  vanish: () => unknown,
  witnesses: HeadlessPeer[],
  victimId: string,
  timeoutMs?: number,
): Promise<void> {
  const reasons: string[] = [];
  for (const witness of witnesses) {
    witness.session.on("peer-left", ({ peer, reason }) => reasons.push(`${peer.id === victimId ? "victim" : peer.username}:${reason}`));
  }
  await vanish();
  await waitFor("every witness dropped the victim", () => witnesses.every((witness) => !witness.session.peers.has(victimId)), timeoutMs);
  expect(reasons).toEqual(["victim:left", "victim:left", "victim:left"]);
  expect(isFullMesh(witnesses)).toBe(true);
}

describe("vanished peers, failure cases", () => {
  test("a peer whose socket is destroyed without leaving is removed from the others", async () => {
    const { witnesses, victim } = await meshWithVictim("cut");
    const victimId = idOf(victim);

    await expectDroppedAfter(() => rawSockets[0]?.destroy(), witnesses, victimId);
  });

  test("a half-open peer that stops answering the server's pings is removed within the idle timeout", async () => {
    const { witnesses, victim } = await meshWithVictim("frozen");
    const victimId = idOf(victim);

    // Stop reading: the server's pings sit unread in the kernel buffer and no pong goes back,
    // while the TCP connection stays established and the victim's WebRTC connections stay up.
    await expectDroppedAfter(() => rawSockets[0]?.pause(), witnesses, victimId, (IDLE_TIMEOUT_SECONDS * 3 + 10) * 1000);
    expect(victim.session.isJoined).toBe(true);
  });

  test("a peer whose process is killed is removed from the others", async () => {
    const witnesses = await joinPeers(server.wsUrl, "killed", 3);
    opened.push(...witnesses);
    const peersModule = new URL("../../client/headless/peers.ts", import.meta.url).href;
    const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    const script = [
      `const { HeadlessPeer } = await import(${JSON.stringify(peersModule)});`,
      `const peer = new HeadlessPeer({ url: ${JSON.stringify(server.wsUrl)}, room: "killed", username: "victim" });`,
      "await peer.join();",
      "process.stdout.write(`joined ${peer.id}\\n`);",
      "setInterval(() => {}, 60_000);",
    ].join("\n");
    const child = spawn(process.execPath, ["--import", tsxLoader, "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      await waitFor("the child process joined", () => output.includes("\n"));
      const victimId = /joined (\S+)/.exec(output)?.[1] ?? "";
      await waitFor("every witness connected to the child", () => witnesses.every((witness) => witness.connectedPeerIds().includes(victimId)));

      await expectDroppedAfter(async () => {
        child.kill("SIGKILL");
        await once(child, "exit");
      }, witnesses, victimId);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
