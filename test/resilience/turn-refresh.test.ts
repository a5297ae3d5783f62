/**
 * TURN credential renewal in a live mesh: two headless peers forced to relay-only ICE through a
 * real coturn, with credentials that live 4–5 s. The sessions renew them before they expire, apply
 * them to their live connections, and an ICE restart after the first credentials expired
 * allocates new relays with the renewed ones.
 *
 * coturn checks a credential only when it grants an allocation. A session renews at 80 % of the
 * remaining lifetime, so with lifetimes this short the credentials it holds are close to expiry
 * for part of every cycle (under 1 s with a 4–5 s lifetime), and a stalled event loop can push that
 * past expiry. Nothing here allocates at an arbitrary moment of that cycle: the ICE restart waits
 * until both sessions hold credentials with at least half a lifetime left.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import type { RunningServer } from "../../server/server.ts";
import type { HeadlessPeer } from "../../client/headless/peers.ts";
import type { IceServer } from "../../shared/protocol/index.ts";
import { idOf, isFullMesh, joinPeers, leaveAll, startTestServer, waitFor } from "../mesh/helpers.ts";
import { requireCoturn, startCoturn, type RunningCoturn } from "../support/coturn.ts";
import { recordSession } from "./helpers.ts";

const SECRET = "resilience-turn-secret";
/**
 * Short enough that a test sees several renewals and an expired first credential (the server
 * rounds the expiry down to a second, so they live 4–5 s).
 */
const CREDENTIAL_TTL_SECONDS = 5;
/** What the credentials of both sessions must have left when the ICE restart allocates relays. */
const FRESH_FOR_RESTART_MS = (CREDENTIAL_TTL_SECONDS * 1000) / 2;
/** Bound on each wait below; several renewal cycles, for a loaded machine. */
const RENEWAL_DEADLINE_MS = 45_000;

const hasCoturn = requireCoturn();

/** ICE ufrags of the relay candidates sent through recording sockets, in order. */
const relayCandidateUfrags: string[] = [];

/** A `ws` client that notes every relay candidate its session signals. */
class RecordingWebSocket extends WebSocket {
  override send(data: string): void {
    const message = JSON.parse(data) as { type: string; ice?: { candidate: string } };
    const candidate = message.type === "new_candidate" ? message.ice?.candidate ?? "" : "";
    if (candidate.includes(" typ relay")) {
      relayCandidateUfrags.push(/ ufrag (\S+)/.exec(candidate)?.[1] ?? "?");
    }
    super.send(data);
  }
}

/** The TURN username of `iceServers` (`<expiry>:<id>`), if one is there. */
function turnUsername(iceServers: readonly IceServer[] | undefined): string | undefined {
  return iceServers?.find((server) => server.username !== undefined)?.username;
}

/** Milliseconds until the TURN credentials `peer`'s session holds now expire. */
function credentialsLeftMs(peer: HeadlessPeer): number {
  return (peer.session.info?.iceServersExpireAtMs ?? 0) - Date.now();
}

/** The expiry (Unix seconds) that a TURN REST username starts with. */
function expiryOf(username: string | undefined): number {
  return Number(username?.split(":")[0] ?? 0);
}

describe.skipIf(!hasCoturn)("TURN credential renewal", () => {
  let turn: RunningCoturn;
  let server: RunningServer;
  const opened: HeadlessPeer[] = [];

  beforeAll(async () => {
    turn = await startCoturn({ secret: SECRET });
    server = await startTestServer({ turnUrls: [turn.url], turnSecret: SECRET, turnCredentialTtlSeconds: CREDENTIAL_TTL_SECONDS });
  });

  afterEach(async () => {
    await leaveAll(opened.splice(0));
    relayCandidateUfrags.splice(0);
  });

  afterAll(async () => {
    await server?.close();
    await turn?.stop();
  });

  test("a relay-only pair keeps working across credential renewals and an ICE restart with renewed credentials", async () => {
    const peers = await joinPeers(server.wsUrl, "relay", 2, { rtcConfiguration: { iceTransportPolicy: "relay" }, WebSocket: RecordingWebSocket });
    opened.push(...peers);
    const [member, newcomer] = peers as [HeadlessPeer, HeadlessPeer];
    const firstUsername = turnUsername(newcomer.session.info?.iceServers);
    expect(firstUsername).toMatch(/^\d+:/);
    const renewals = peers.map(() => [] as string[]);
    for (const [index, peer] of peers.entries()) {
      peer.session.on("ice-servers", ({ iceServers }) => renewals[index]?.push(turnUsername(iceServers) ?? ""));
    }
    const logs = peers.map(recordSession);
    await waitFor("the pair connected through the relay", () => isFullMesh(peers));

    // Past the first credentials' expiry, with renewals on both sides.
    await waitFor("two renewals on each side, the first credentials expired", () =>
      renewals.every((list) => list.length >= 2) && Date.now() > expiryOf(firstUsername) * 1000 + 500, RENEWAL_DEADLINE_MS);
    const renewed = renewals[1]?.at(-1);
    expect(expiryOf(renewed)).toBeGreaterThan(expiryOf(firstUsername));
    // Applied to the live connection, not only kept for later ones.
    const pc = newcomer.session.peers.get(idOf(member))?.peerConnection;
    expect(turnUsername(pc?.getConfiguration().iceServers as IceServer[] | undefined)).toBe(turnUsername(newcomer.session.info?.iceServers));
    expect(newcomer.session.send(idOf(member), "after renewals")).toBe(true);
    await waitFor("data after the renewals", () => logs[0]?.data.some((line) => line.endsWith("after renewals")) ?? false);

    // ICE restart: both sides gather again under new ufrags, and a relay candidate needs a new
    // allocation, which coturn grants only to unexpired credentials (test/turn.test.ts shows an
    // expired one refused). The first credentials are expired by now: relay candidates with new
    // ufrags prove the renewed ones were used.
    // The restart allocates with the credentials each side holds at that moment: start it when
    // both were renewed recently, never at the edge of their lifetime.
    await waitFor("both sessions hold credentials with half a lifetime left", () =>
      peers.every((peer) => credentialsLeftMs(peer) >= FRESH_FOR_RESTART_MS), RENEWAL_DEADLINE_MS);
    const ufragsBefore = new Set(relayCandidateUfrags);
    expect(ufragsBefore.size).toBeGreaterThan(0);
    expect(newcomer.session.restartIce()).toBe(1);
    await waitFor("relay candidates gathered after the restart on both sides", () =>
      new Set(relayCandidateUfrags.filter((ufrag) => !ufragsBefore.has(ufrag))).size >= 2, RENEWAL_DEADLINE_MS);
    await waitFor("the pair is still up after the restart", () => isFullMesh(peers));
    expect(member.session.send(idOf(newcomer), "after the restart")).toBe(true);
    await waitFor("data after the restart", () => logs[1]?.data.some((line) => line.endsWith("after the restart")) ?? false);
    expect(peers.map((peer) => peer.session.peers.get(peers.find((other) => other !== peer)?.id ?? "")?.rebuilds)).toEqual([0, 0]);
    expect(logs.flatMap((log) => log.errors)).toEqual([]);
  });
});
