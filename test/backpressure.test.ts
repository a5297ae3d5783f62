/**
 * A client that stops reading cannot make the server buffer without bound. The server runs in its
 * own process (`webrtc-room serve`) so that its resident memory can be read from /proc while a
 * flooder sends hundreds of MiB of relayed offers at a client whose TCP socket is paused; a fast
 * client in the same room must keep receiving meanwhile.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "node:net";
import { CLOSE_CODES } from "../shared/protocol/index.ts";
import { TestClient } from "./support/ws-client.ts";

const MiB = 1024 * 1024;

/** What the flooder sends at the slow reader, in bytes of relayed offers. */
const FLOOD_BYTES = 200 * MiB;

/** Most the server's resident memory may grow while the flood lasts. */
const MAX_RSS_GROWTH_BYTES = 64 * MiB;

/** Size of one flooded offer's SDP: just under the default 64 KiB frame limit. */
const SDP_BYTES = 60_000;

/**
 * Offers per batch; the flooder waits for the kernel to take each batch before writing the next.
 * Large, so that the server reads many offers in one poll and queues many frames for the slow
 * reader in one turn: frames queued behind the one that crosses the bound must not push the close
 * frame past uWebSockets.js's own limit (the client would then see 1006 instead of 4002).
 */
const BATCH = 256;

const BIN = fileURLToPath(new URL("../bin/webrtc-room.js", import.meta.url));

/** A `webrtc-room serve` child process. */
interface ServerProcess {
  child: ChildProcess;
  wsUrl: string;
  httpUrl: string;
}

async function spawnServer(args: string[]): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, "serve", "--host", "127.0.0.1", "--port", "0", "--stun", "", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const wsUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`webrtc-room serve did not start: ${output}`)), 30_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /signaling (ws:\/\/\S+?)\)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`webrtc-room serve exited with ${code}: ${output}`)));
  });
  return { child, wsUrl, httpUrl: wsUrl.replace(/^ws/, "http").replace(/\/ws$/, "") };
}

/** A field of /proc/<pid>/status in bytes (`VmRSS`: resident now, `VmHWM`: peak resident). */
async function procStatusBytes(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (!match?.[1]) {
    throw new Error(`no ${field} in /proc/${pid}/status`);
  }
  return Number(match[1]) * 1024;
}

/** Sends `message` and resolves once `ws` has handed it to the kernel. */
function sendAndFlush(client: TestClient, message: object): Promise<void> {
  return new Promise((resolve, reject) => {
    client.socket.send(JSON.stringify(message), (error) => (error ? reject(error) : resolve()));
  });
}

describe.skipIf(process.platform !== "linux")("a slow reader", () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await spawnServer([
      // The flooder is the test's instrument, not the subject: let it send as fast as it can and
      // keep sending after its target is gone (each refused offer costs an error-budget token).
      "--messages-per-second", "1000000",
      "--message-burst", "1000000",
      "--max-error-burst", "1000000",
    ]);
  });

  afterAll(() => {
    server?.child.kill("SIGTERM");
  });

  it("is closed with 4002 while the server's memory stays bounded and a fast client keeps up", async () => {
    const slow = await TestClient.connect(server.wsUrl);
    const fast = await TestClient.connect(server.wsUrl);
    const flooder = await TestClient.connect(server.wsUrl);
    const slowJoined = await slow.join("backpressure", "slow");
    const fastJoined = await fast.join("backpressure", "fast");
    await flooder.join("backpressure", "flooder");
    await fast.sync();

    const sdp = "v".repeat(SDP_BYTES);
    const offer = { type: "send_offer", targetId: slowJoined.id, sdp: { type: "offer", sdp } };
    // Warm up (JIT, heap) with the slow reader still reading, then measure from there.
    for (let index = 0; index < 100; index += 1) {
      await sendAndFlush(flooder, offer);
      await slow.next("send_offer");
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const pid = server.child.pid ?? 0;
    const baselineRss = await procStatusBytes(pid, "VmRSS");

    // The slow reader stops reading: its kernel receive buffer fills, then the server's send buffer.
    (slow.socket as unknown as { _socket: Socket })._socket.pause();
    let peakSampledRss = baselineRss;
    const sampler = setInterval(() => {
      void procStatusBytes(pid, "VmRSS").then((rss) => (peakSampledRss = Math.max(peakSampledRss, rss)), () => undefined);
    }, 20);

    let sentBytes = 0;
    let candidatesSent = 0;
    const startedMs = Date.now();
    try {
      while (sentBytes < FLOOD_BYTES) {
        const batch: Promise<void>[] = [];
        for (let index = 0; index < BATCH; index += 1) {
          batch.push(sendAndFlush(flooder, offer));
          sentBytes += SDP_BYTES;
        }
        // The fast client gets one small message per batch; it must receive every one.
        batch.push(sendAndFlush(flooder, { type: "new_candidate", targetId: fastJoined.id, ice: { candidate: `candidate ${candidatesSent}` } }));
        candidatesSent += 1;
        await Promise.all(batch);
      }
      await flooder.sync();
    } finally {
      clearInterval(sampler);
    }
    const floodMs = Date.now() - startedMs;
    const peakRss = Math.max(peakSampledRss, await procStatusBytes(pid, "VmRSS"));

    // The fast client received every candidate, in order, and still answers promptly.
    for (let index = 0; index < candidatesSent; index += 1) {
      await fast.next("new_candidate", (message) => message.ice.candidate === `candidate ${index}`);
    }
    await fast.sync();

    // The others saw the slow reader go: closed with 4002, suspended, then its resume buffer overflowed.
    expect(fast.received).toContainEqual({ type: "close_connection", id: slowJoined.id });
    expect(flooder.closeCode).toBeUndefined();

    // The slow reader, reading again, finds what the kernel held, then the 4002 close frame.
    (slow.socket as unknown as { _socket: Socket })._socket.resume();
    expect(await slow.closed).toBe(CLOSE_CODES.backpressure);

    console.log(JSON.stringify({
      test: "slow reader",
      floodedMiB: Math.round(sentBytes / MiB),
      floodMs,
      rssBaselineMiB: +(baselineRss / MiB).toFixed(1),
      rssPeakGrowthMiB: +((peakRss - baselineRss) / MiB).toFixed(1),
      slowReaderReceivedMessages: slow.received.length,
    }));
    expect(peakRss - baselineRss).toBeLessThan(MAX_RSS_GROWTH_BYTES);

    await fast.close();
    await flooder.close();
  });
});
