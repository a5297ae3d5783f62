/**
 * A server restart: every client loses its socket (1012), the new server knows nobody, so every
 * resume is refused and each client joins again as new; the room forms again by itself.
 *
 * The clients reach the server through `tcp-proxy.ts`, which passes everything through but answers
 * the server's own FIN with a reset: uWebSockets.js binds without `SO_REUSEADDR`, so otherwise the
 * connections the old server closed would hold its port in TIME_WAIT for 60 s and the new server
 * could not listen on it.
 */
import { afterEach, describe, expect, test } from "vitest";
import type { RunningServer } from "../../server/server.ts";
import type { HeadlessPeer } from "../../client/headless/peers.ts";
import { MeshSessionState } from "../../client/core/index.ts";
import { idOf, isFullMesh, joinPeers, leaveAll, MESH_DEADLINE_MS, startTestServer, waitFor } from "../mesh/helpers.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { recordSession, sleep } from "./helpers.ts";

const opened: HeadlessPeer[] = [];
const servers: RunningServer[] = [];
const proxies: TcpProxy[] = [];

afterEach(async () => {
  await leaveAll(opened.splice(0));
  for (const server of servers.splice(0)) {
    await server.close();
  }
  for (const proxy of proxies.splice(0)) {
    await proxy.close();
  }
});

/**
 * Starts a server on `port`, trying again every 100 ms while the old listener lets go of it; gives
 * up after {@link MESH_DEADLINE_MS} (a loaded machine can take longer than a fixed count of tries).
 */
async function restartOn(port: number): Promise<RunningServer> {
  const deadline = Date.now() + MESH_DEADLINE_MS;
  for (;;) {
    try {
      const server = await startTestServer({ port });
      servers.push(server);
      return server;
    } catch (error) {
      if (Date.now() > deadline) {
        throw error;
      }
      await sleep(100);
    }
  }
}

describe("server restart", () => {
  test("killing the server and starting a new one on the same port brings the room back whole", async () => {
    const first = await startTestServer();
    servers.push(first);
    const proxy = await startTcpProxy({ port: first.port });
    proxies.push(proxy);
    const peers = await joinPeers(proxy.wsUrl, "restart", 3);
    opened.push(...peers);
    await waitFor("full mesh of 3", () => isFullMesh(peers));
    const oldIds = peers.map(idOf);
    const logs = peers.map(recordSession);

    await first.close();
    servers.splice(servers.indexOf(first), 1);
    await waitFor("every session noticed", () => peers.every((peer) => peer.session.isReconnecting));
    const second = await restartOn(first.port);

    await waitFor("every session is back", () => logs.every((log) => log.reconnected.length === 1));
    await waitFor("full mesh of 3 on the new server", () => isFullMesh(peers));

    for (const [index, log] of logs.entries()) {
      expect(log.reconnected[0]?.resumed).toBe(false);
      expect(log.reconnected[0]?.previousId).toBe(oldIds[index]);
    }
    expect(peers.map(idOf).filter((id) => oldIds.includes(id))).toEqual([]);
    expect(peers.map((peer) => peer.session.state)).toEqual([MeshSessionState.joined, MeshSessionState.joined, MeshSessionState.joined]);
    expect(second.connectionCount()).toBe(3);
  });
});
