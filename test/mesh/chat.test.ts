/**
 * Chat over the mesh's data channels, with real peers (@roamhq/wrtc) and the real server: order
 * and sender, delivery to a newcomer whose pair was still connecting, delivery after a pair was
 * rebuilt, copies dropped by id, and the refusals of `sendChat()`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { RunningServer } from "../../server/server.ts";
import { HeadlessPeer } from "../../client/headless/peers.ts";
import { CHAT_MAX_CHARS, MeshPeer, RoomError, type ChatMessage } from "../../client/core/index.ts";
import { idOf, isFullMesh, joinPeers, leaveAll, startTestServer, waitFor } from "./helpers.ts";

let server: RunningServer;
const opened: HeadlessPeer[] = [];

beforeAll(async () => {
  server = await startTestServer();
});

afterEach(async () => {
  await leaveAll(opened.splice(0));
});

afterAll(async () => {
  await server.close();
});

/** Records the chat messages `peer` receives, in arrival order. */
function inbox(peer: HeadlessPeer): ChatMessage[] {
  const received: ChatMessage[] = [];
  peer.session.on("chat-message", (message) => received.push(message));
  return received;
}

/** The code of the `RoomError` that `action` throws. */
function refusalCode(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return error instanceof RoomError ? error.code : `not a RoomError: ${String(error)}`;
  }
  return "nothing thrown";
}

describe("chat, happy path", () => {
  test("messages reach every other participant once, in the order sent, from the pair's remote", async () => {
    const peers = await joinPeers(server.wsUrl, "chat-order", 3);
    opened.push(...peers);
    const [ada, grace, linus] = peers;
    if (!ada || !grace || !linus) {
      throw new Error("peers not joined");
    }
    await waitFor("full mesh", () => isFullMesh(peers));
    const inboxes = [inbox(ada), inbox(grace), inbox(linus)];

    const sent = ["one", "two", "three <b>not bold</b>"].map((text) => ada.session.sendChat(text));
    expect(sent.map((message) => message.from)).toEqual(sent.map(() => ({ id: idOf(ada), username: ada.username })));
    await waitFor("both others received three messages", () => inboxes[1]?.length === 3 && inboxes[2]?.length === 3);

    for (const received of inboxes.slice(1)) {
      expect(received.map((message) => message.text)).toEqual(["one", "two", "three <b>not bold</b>"]);
      expect(received.map((message) => message.id)).toEqual(sent.map((message) => message.id));
      expect(received.every((message) => message.from.id === idOf(ada) && message.from.username === ada.username)).toBe(true);
      expect(received.every((message) => message.receivedAtMs >= message.sentAtMs - 60_000)).toBe(true);
    }
    // The sender's own messages are not echoed back to it.
    expect(inboxes[0]).toEqual([]);
  });

  test("a message sent while the pair with a newcomer is still connecting arrives once its channel opens", async () => {
    const [ada, grace] = await joinPeers(server.wsUrl, "chat-late", 2);
    if (!ada || !grace) {
      throw new Error("peers not joined");
    }
    opened.push(ada, grace);
    await waitFor("pair connected", () => isFullMesh([ada, grace]));

    const linus = new HeadlessPeer({ url: server.wsUrl, room: "chat-late", username: "linus" });
    opened.push(linus);
    const linusInbox = inbox(linus);
    const stateWhenSent: string[] = [];
    ada.session.on("peer-joined", ({ peer }) => {
      stateWhenSent.push(peer.state);
      ada.session.sendChat(`welcome, ${peer.username}`);
    });
    await linus.join();

    await waitFor("linus received the welcome", () => linusInbox.length === 1);
    expect(stateWhenSent).toEqual(["connecting"]);
    expect(linusInbox[0]?.text).toBe("welcome, linus");
    expect(linusInbox[0]?.from.id).toBe(idOf(ada));
  });

  test("a message sent while a pair is being rebuilt arrives on the new connection", async () => {
    const [ada, grace] = await joinPeers(server.wsUrl, "chat-rebuild", 2, { peerRebuildDelayMs: () => 200 });
    if (!ada || !grace) {
      throw new Error("peers not joined");
    }
    opened.push(ada, grace);
    await waitFor("pair connected", () => isFullMesh([ada, grace]));
    const adaInbox = inbox(ada);

    // Grace joined second, so she offers and rebuilds; she writes while the pair is down.
    expect(grace.session.debugFailPeer(idOf(ada))).toBe(true);
    const pair = grace.session.peers.get(idOf(ada));
    expect(pair?.isConnected).toBe(false);
    grace.session.sendChat("still there?");

    await waitFor("ada received it", () => adaInbox.length === 1);
    expect(adaInbox[0]?.text).toBe("still there?");
    expect(pair?.rebuilds).toBeGreaterThanOrEqual(1);
  });
});

describe("chat, failure cases", () => {
  test("sendChat() refuses a text above the limit (chat_too_long), an empty one (chat_empty) and before joining (not_ready); nothing is sent", async () => {
    const early = new HeadlessPeer({ url: server.wsUrl, room: "chat-refusals", username: "early" });
    opened.push(early);
    expect(refusalCode(() => early.session.sendChat("hello"))).toBe("not_ready");

    const [ada, grace] = await joinPeers(server.wsUrl, "chat-refusals", 2);
    if (!ada || !grace) {
      throw new Error("peers not joined");
    }
    opened.push(ada, grace);
    await waitFor("pair connected", () => isFullMesh([ada, grace]));
    const graceInbox = inbox(grace);

    expect(refusalCode(() => ada.session.sendChat("x".repeat(CHAT_MAX_CHARS + 1)))).toBe("chat_too_long");
    expect(refusalCode(() => ada.session.sendChat("€".repeat(CHAT_MAX_CHARS)))).toBe("chat_too_long");
    expect(refusalCode(() => ada.session.sendChat(""))).toBe("chat_empty");
    ada.session.sendChat("after the refusals");
    await waitFor("grace received one message", () => graceInbox.length > 0);
    expect(graceInbox.map((message) => message.text)).toEqual(["after the refusals"]);
  });

  test("a copy of a message (same id) is dropped", async () => {
    const [ada, grace] = await joinPeers(server.wsUrl, "chat-copies", 2);
    if (!ada || !grace) {
      throw new Error("peers not joined");
    }
    opened.push(ada, grace);
    await waitFor("pair connected", () => isFullMesh([ada, grace]));
    const graceInbox = inbox(grace);
    const pair = ada.session.peers.get(idOf(grace));
    if (!(pair instanceof MeshPeer)) {
      throw new Error("no pair with grace");
    }

    const copy = { type: "chat", id: "0123456789abcdef", sentAtMs: Date.now(), text: "once" } as const;
    pair.sendChat(copy);
    pair.sendChat(copy);
    pair.sendChat({ ...copy, id: "fedcba9876543210", text: "next" });
    await waitFor("grace received the next message", () => graceInbox.some((message) => message.text === "next"));
    expect(graceInbox.map((message) => message.text)).toEqual(["once", "next"]);
  });
});
