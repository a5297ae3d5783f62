/**
 * A viewer (a join token without the `publish` grant) over real WebRTC (@roamhq/wrtc) and a
 * token-mode server: it receives everyone's video and sends nothing, even when it was handed a
 * camera; its publications and, without the `data` grant, its application data are refused with
 * `not_allowed`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { RunningServer } from "../../server/server.ts";
import { mintToken, type JoinGrants } from "../../server/tokens.ts";
import { HeadlessPeer, SyntheticVideo } from "../../client/headless/peers.ts";
import { WebRtcRoomError, type RemotePeer } from "../../client/core/index.ts";
import { MESH_DEADLINE_MS, idOf, isFullMesh, leaveAll, startTestServer, waitFor } from "./helpers.ts";

const SECRET = "viewer-test-secret-of-at-least-32-bytes!";
const ROOM = "viewing";
const TOKEN_TTL_SECONDS = 600;

let server: RunningServer;
let url: string;
const opened: HeadlessPeer[] = [];

beforeAll(async () => {
  server = await startTestServer({ auth: "token", authSecret: SECRET });
  url = `ws://127.0.0.1:${server.port}/ws`;
});

afterEach(async () => {
  await leaveAll(opened.splice(0));
});

afterAll(async () => {
  await server.close();
});

/** Joins `name` to {@link ROOM} with a join token carrying `grants`; `video` hands it a synthetic camera. */
async function joinWithGrants(name: string, grants: Partial<JoinGrants>, video: boolean): Promise<HeadlessPeer> {
  const token = await mintToken({ kind: "join", userId: name.toLowerCase(), room: ROOM, name, grants }, SECRET, TOKEN_TTL_SECONDS);
  const peer = new HeadlessPeer({ url, room: ROOM, username: name, token, video });
  opened.push(peer);
  await peer.join();
  return peer;
}

/** What `holder` holds of `remote`. */
function remoteOf(holder: HeadlessPeer, remote: HeadlessPeer): RemotePeer {
  const peer = holder.session.peers.get(idOf(remote));
  if (!peer) {
    throw new Error(`${holder.username} does not hold ${remote.username}`);
  }
  return peer;
}

/** Bytes and frames `holder` received from `remote` over their connection (every `inbound-rtp`). */
async function received(holder: HeadlessPeer, remote: HeadlessPeer): Promise<{ bytes: number; frames: number }> {
  const connection = remoteOf(holder, remote).peerConnection;
  if (!connection) {
    throw new Error(`${holder.username} has no connection to ${remote.username}`);
  }
  let bytes = 0;
  let frames = 0;
  for (const report of (await connection.getStats()).values()) {
    if (report.type === "inbound-rtp") {
      bytes += report.bytesReceived ?? 0;
      frames += report.framesDecoded ?? 0;
    }
  }
  return { bytes, frames };
}

describe("a viewer (join token without publish)", () => {
  test("receives video from two publishers and sends none, though it was given a camera", async () => {
    const publishing = { publish: true, data: true };
    const ada = await joinWithGrants("Ada", publishing, true);
    // In the middle, so that it offers to Ada and answers Grace.
    const viewer = await joinWithGrants("Viewer", {}, true);
    const grace = await joinWithGrants("Grace", publishing, true);
    const peers = [ada, viewer, grace];
    await waitFor("a full mesh of three", () => isFullMesh(peers));

    expect(viewer.session.grants).toEqual({ publish: false, data: false, host: false, hidden: false });
    expect(ada.session.grants).toMatchObject({ publish: true, data: true });
    expect(viewer.session.publications.list()).toEqual([]);

    // The viewer's inbound frames rise from both publishers, and they decode each other.
    await waitFor("the viewer decodes both publishers", () => viewer.framesFrom(idOf(ada)) > 5 && viewer.framesFrom(idOf(grace)) > 5);
    await waitFor("the publishers decode each other", () => ada.framesFrom(idOf(grace)) > 5 && grace.framesFrom(idOf(ada)) > 5);
    for (const [holder, other] of [[ada, grace], [grace, ada]] as const) {
      const fromPublisher = await received(holder, other);
      expect(fromPublisher.frames, `${holder.username} decodes ${other.username}`).toBeGreaterThan(0);
      // While media flows on the same machine, nothing at all arrives from the viewer.
      expect(await received(holder, viewer), `${holder.username} receives from the viewer`).toEqual({ bytes: 0, frames: 0 });
      expect(holder.framesFrom(idOf(viewer))).toBe(0);
    }
    const framesBefore = viewer.framesFrom(idOf(ada));
    await waitFor("the viewer's frames keep rising", () => viewer.framesFrom(idOf(ada)) > framesBefore + 5, MESH_DEADLINE_MS);
  });

  test("refuses publishing and, without the data grant, application data with not_allowed", async () => {
    const ada = await joinWithGrants("Ada", { publish: true, data: true }, true);
    const viewer = await joinWithGrants("Viewer", {}, false);
    await waitFor("the pair is connected", () => isFullMesh([ada, viewer]));

    const camera = new SyntheticVideo();
    try {
      const [track] = camera.stream.getVideoTracks();
      if (!track) {
        throw new Error("synthetic video without a track");
      }
      const publish = (): unknown => viewer.session.publications.publish("camera", track);
      expect(publish).toThrow(WebRtcRoomError);
      expect(publish).toThrow(expect.objectContaining({ code: "not_allowed" }));
      await expect(viewer.session.publications.replace("camera", track)).rejects.toMatchObject({ code: "not_allowed" });
    } finally {
      camera.stop();
    }
    expect(() => viewer.session.send(idOf(ada), { hello: true })).toThrow(expect.objectContaining({ code: "not_allowed" }));
    expect(() => viewer.session.broadcast({ hello: true })).toThrow(expect.objectContaining({ code: "not_allowed" }));
    // The publisher's own data still goes out.
    expect(ada.session.send(idOf(viewer), { hello: true })).toBe(true);
  });
});
