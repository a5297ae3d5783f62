/**
 * Signaling cuts: one peer reaches the server through a TCP proxy that the test cuts. Within the
 * grace window it resumes as the same participant and nobody else notices; past it, it is removed
 * and joins again as new.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import type { RunningServer } from "../../server/server.ts";
import type { HeadlessPeer } from "../../client/headless/peers.ts";
import { MeshSessionState } from "../../client/core/index.ts";
import { idOf, isFullMesh, joinPeers, leaveAll, startTestServer, waitFor } from "../mesh/helpers.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { connectionsOf, recordSession } from "./helpers.ts";

/**
 * Short grace window of the second server, so that the "longer than the window" case stays
 * quick. The first server keeps the default (15 s): after a 2 s cut the backoff may wait up to
 * 4 s more before the attempt that succeeds.
 */
const RESUME_GRACE_MS = 3_000;
/** The short cut. */
const SHORT_CUT_MS = 2_000;
/** Comfortably past the grace window. */
const LONG_CUT_MS = RESUME_GRACE_MS + 2_500;

/** Default grace window. */
let server: RunningServer;
/** Grace window of {@link RESUME_GRACE_MS}. */
let shortGraceServer: RunningServer;
const opened: HeadlessPeer[] = [];
const proxies: TcpProxy[] = [];
/** Types of every server frame each recording socket received, by socket. */
const framesByUrl = new Map<string, string[][]>();

/** A `ws` client that records the `type` of every frame the server sent it. */
class RecordingWebSocket extends WebSocket {
  constructor(url: string) {
    super(url);
    const types: string[] = [];
    framesByUrl.set(url, [...(framesByUrl.get(url) ?? []), types]);
    this.on("message", (data) => types.push((JSON.parse(String(data)) as { type: string }).type));
  }
}

beforeAll(async () => {
  server = await startTestServer();
  shortGraceServer = await startTestServer({ resumeGraceMs: RESUME_GRACE_MS });
});

afterEach(async () => {
  await leaveAll(opened.splice(0));
  for (const proxy of proxies.splice(0)) {
    await proxy.close();
  }
  framesByUrl.clear();
});

afterAll(async () => {
  await server.close();
  await shortGraceServer.close();
});

/** Two witnesses joined directly (recording their frames), then a victim behind a proxy; full mesh. */
async function roomWithVictim(room: string, on: RunningServer = server): Promise<{ witnesses: HeadlessPeer[]; victim: HeadlessPeer; proxy: TcpProxy }> {
  const witnesses = await joinPeers(`${on.wsUrl}?${room}`, room, 2, { WebSocket: RecordingWebSocket });
  opened.push(...witnesses);
  const proxy = await startTcpProxy({ port: on.port });
  proxies.push(proxy);
  const [victim] = await joinPeers(proxy.wsUrl, room, 1, {}, `${room}-victim`);
  if (!victim) {
    throw new Error("join failed");
  }
  opened.push(victim);
  await waitFor("full mesh of 3", () => isFullMesh([...witnesses, victim]));
  return { witnesses, victim, proxy };
}

/** Frame types the witnesses' sockets received. */
function witnessFrames(room: string): string[] {
  return (framesByUrl.get(`${server.wsUrl}?${room}`) ?? []).flat();
}

describe("signaling cut within the grace window", () => {
  test("a 2 s cut resumes the same participant: no close_connection reaches the others and its data channels keep working", async () => {
    const { witnesses, victim, proxy } = await roomWithVictim("short");
    const victimId = idOf(victim);
    const victimLog = recordSession(victim);
    const witnessLogs = witnesses.map(recordSession);
    const connectionsBefore = witnesses.map(connectionsOf);
    const framesBefore = witnessFrames("short").length;

    const cutOver = proxy.cut(SHORT_CUT_MS);
    await waitFor("the victim noticed the cut", () => victim.session.isReconnecting);
    expect(victim.session.state).toBe(MeshSessionState.reconnecting);
    expect(victim.session.isJoined).toBe(true);
    // Peer to peer, the cut changes nothing: both directions work while the victim is away.
    for (const witness of witnesses) {
      expect(victim.session.send(idOf(witness), "victim during the cut")).toBe(true);
      expect(witness.session.send(victimId, `${witness.username} during the cut`)).toBe(true);
    }
    await waitFor("data crossed during the cut", () =>
      witnessLogs.every((log) => log.data.includes("short-victim-1: victim during the cut")) && victimLog.data.length === 2);
    await cutOver;

    await waitFor("the victim resumed", () => victimLog.reconnected.length === 1);
    expect(victimLog.reconnected).toEqual([{ id: victimId, previousId: victimId, resumed: true }]);
    expect(victim.session.state).toBe(MeshSessionState.joined);
    for (const witness of witnesses) {
      expect(victim.session.send(idOf(witness), "victim after the cut")).toBe(true);
      expect(witness.session.send(victimId, `${witness.username} after the cut`)).toBe(true);
    }
    await waitFor("data crossed after the cut", () =>
      witnessLogs.every((log) => log.data.includes("short-victim-1: victim after the cut")) && victimLog.data.length === 4);

    expect(witnessFrames("short").slice(framesBefore)).not.toContain("close_connection");
    expect(witnessLogs.map((log) => [...log.membership, ...log.peerStates])).toEqual([[], []]);
    expect(victimLog.membership).toEqual([]);
    expect(victimLog.peerStates).toEqual([]);
    // The very same connections carried the data all along.
    expect(witnesses.map(connectionsOf)).toEqual(connectionsBefore);
    expect(isFullMesh([...witnesses, victim])).toBe(true);
  });

  test("messages addressed to a cut participant are delivered after it resumes: a newcomer who joined meanwhile connects to it", async () => {
    const { witnesses, victim, proxy } = await roomWithVictim("queued");
    const victimId = idOf(victim);
    const victimLog = recordSession(victim);

    const cutOver = proxy.cut(SHORT_CUT_MS);
    await waitFor("the victim noticed the cut", () => victim.session.isReconnecting);
    // The newcomer's connection_list and offer for the victim wait on the server.
    const [newcomer] = await joinPeers(server.wsUrl, "queued", 1, {}, "queued-newcomer");
    if (!newcomer) {
      throw new Error("join failed");
    }
    opened.push(newcomer);
    await waitFor("the newcomer connected to the witnesses", () => witnesses.every((witness) => newcomer.connectedPeerIds().includes(idOf(witness))));
    expect(victim.session.peers.has(idOf(newcomer))).toBe(false);
    await cutOver;

    await waitFor("full mesh of 4 after the resume", () => isFullMesh([...witnesses, victim, newcomer]));
    expect(idOf(victim)).toBe(victimId);
    expect(victimLog.reconnected.map((event) => event.resumed)).toEqual([true]);
    expect(victimLog.membership).toEqual(["peer-joined queued-newcomer-1"]);
  });
});

describe("signaling cut past the grace window", () => {
  test("a cut longer than the grace window removes the participant; it rejoins as new and the mesh is whole again", async () => {
    const { witnesses, victim, proxy } = await roomWithVictim("long", shortGraceServer);
    const victimId = idOf(victim);
    const victimLog = recordSession(victim);
    const witnessLogs = witnesses.map(recordSession);

    const cutOver = proxy.cut(LONG_CUT_MS);
    await waitFor("the witnesses dropped the victim after the grace window", () =>
      witnesses.every((witness) => !witness.session.peers.has(victimId)));
    for (const log of witnessLogs) {
      expect(log.membership).toEqual(["peer-left long-victim-1 (left)"]);
    }
    await cutOver;

    await waitFor("the victim rejoined as new", () => victimLog.reconnected.length === 1);
    const [event] = victimLog.reconnected;
    expect(event?.resumed).toBe(false);
    expect(event?.previousId).toBe(victimId);
    expect(event?.id).not.toBe(victimId);
    await waitFor("full mesh of 3 again", () => isFullMesh([...witnesses, victim]));

    expect(idOf(victim)).toBe(event?.id);
    expect(victimLog.membership).toEqual([
      "peer-left long-1 (rejoined)",
      "peer-left long-2 (rejoined)",
      "peer-joined long-1",
      "peer-joined long-2",
    ]);
    for (const log of witnessLogs) {
      expect(log.membership).toEqual(["peer-left long-victim-1 (left)", "peer-joined long-victim-1"]);
    }
  });
});
