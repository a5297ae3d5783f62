/**
 * The pure parts under rooms and calls: the data-channel router (two routers wired back to back
 * stand in for the two ends of a channel) and the ICE username fragment of a local description's
 * section.
 */
import { describe, expect, test } from "vitest";
import { CHAT_OUTBOX_MAX_MESSAGES, DataChannelRouter, type DataChannelHandlers } from "../client/core/data-channel.ts";
import { sdpSectionUfrag } from "../client/core/peer-link.ts";
import { CHAT_MAX_BYTES, CHAT_MAX_CHARS, MESH_CHANNEL_MAX_BYTES, isChatTextWithinLimits, type ChatChannelMessage } from "../shared/protocol/mesh.ts";

const chat = (text: string): ChatChannelMessage => ({ type: "chat", id: `id-${text.length}`, sentAtMs: 1, text });

/** One end of a channel: what its router handed over, as short strings. */
interface End {
  router: DataChannelRouter;
  seen: string[];
}

/** Two routers whose sent text arrives at the other one, synchronously. */
function channelPair(): [End, End] {
  const ends: End[] = [];
  for (const name of ["a", "b"]) {
    const seen: string[] = [];
    const handlers: DataChannelHandlers = {
      data: (payload) => seen.push(`data ${JSON.stringify(payload)}`),
      media: (state) => seen.push(`media ${state.audio}/${state.video}`),
      sources: (sources) => seen.push(`sources ${sources.map((entry) => entry.source).join(",")}`),
      chat: (message) => seen.push(`chat ${message.text}`),
      renegotiationRequest: (request) => seen.push(request.type),
      videoHint: (hint) => seen.push(`video_hint ${hint.source} ${hint.maxWidth}x${hint.maxHeight}`),
      unreadable: () => seen.push("unreadable"),
    };
    const index = ends.length;
    ends.push({ router: new DataChannelRouter((text) => ends[1 - index]?.router.receive(text), handlers, name), seen });
  }
  return ends as [End, End];
}

describe("DataChannelRouter", () => {
  test("send() refuses before open(); sendWhenOpen() queues and open() sends its first message before the queue", () => {
    const [a, b] = channelPair();
    b.router.open();
    expect(a.router.send({ type: "data", data: 1 })).toBe(false);
    a.router.sendWhenOpen({ type: "renegotiate" });
    expect(b.seen).toEqual([]);
    a.router.open({ type: "sources", sources: [{ source: "camera", streamId: "s" }] });
    expect(b.seen).toEqual(["sources camera", "renegotiate"]);
    expect(a.router.send({ type: "media", audio: false, video: true })).toBe(true);
    expect(b.seen.at(-1)).toBe("media false/true");
  });

  test("a video_hint reaches the other end with its source, camera when it names none; an out-of-range one is unreadable", () => {
    const [a, b] = channelPair();
    a.router.open();
    b.router.open();
    a.router.send({ type: "video_hint", maxWidth: 320, maxHeight: 180 });
    a.router.send({ type: "video_hint", source: "screen", maxWidth: 1920, maxHeight: 1080 });
    b.router.receive(JSON.stringify({ type: "video_hint", maxWidth: 0, maxHeight: 180 }));
    b.router.receive(JSON.stringify({ type: "video_hint", maxWidth: 320.5, maxHeight: 180 }));
    expect(b.seen).toEqual(["video_hint camera 320x180", "video_hint screen 1920x1080", "unreadable", "unreadable"]);
  });

  test("ping() resolves with the round trip once the other end answers, without reaching its handlers", async () => {
    const [a, b] = channelPair();
    a.router.open();
    b.router.open();
    const rttMs = await a.router.ping();
    expect(rttMs).toBeGreaterThanOrEqual(0);
    expect([...a.seen, ...b.seen]).toEqual([]);
  });

  test("close() rejects pings in flight and drops the queue", async () => {
    const [a] = channelPair();
    a.router.open();
    // The other end never opened, so its answer never comes.
    const pending = a.router.ping(60_000);
    a.router.close("test over");
    await expect(pending).rejects.toThrow(/abandoned: test over/);
    a.router.sendWhenOpen({ type: "renegotiate" });
    a.router.close("again");
    expect(a.router.isOpen).toBe(false);
  });

  test("ping() rejects when the channel is not open", async () => {
    const [a] = channelPair();
    await expect(a.router.ping()).rejects.toThrow(/not connected/);
  });

  test.each([
    ["text that is not JSON", "{nope"],
    ["an unknown type", JSON.stringify({ type: "teleport" })],
    ["a binary chunk", new Uint8Array([1, 2])],
  ])("receive() reports %s as unreadable", (_name, chunk) => {
    const [a] = channelPair();
    a.router.receive(chunk);
    expect(a.seen).toEqual(["unreadable"]);
  });

  test("sendChat() holds chat across close() and sends it, in order, once a connection opens the channel", () => {
    const [a, b] = channelPair();
    b.router.open();
    a.router.sendChat(chat("one"));
    a.router.close("rebuilt");
    a.router.sendChat(chat("two"));
    expect(b.seen).toEqual([]);
    a.router.open();
    expect(b.seen).toEqual(["chat one", "chat two"]);
    a.router.sendChat(chat("three"));
    expect(b.seen.at(-1)).toBe("chat three");
  });

  test("the chat outbox keeps the newest CHAT_OUTBOX_MAX_MESSAGES when the channel stays down", () => {
    const [a, b] = channelPair();
    b.router.open();
    for (let index = 0; index < CHAT_OUTBOX_MAX_MESSAGES + 5; index += 1) {
      a.router.sendChat(chat(String(index)));
    }
    a.router.open();
    expect(b.seen.length).toBe(CHAT_OUTBOX_MAX_MESSAGES);
    expect(b.seen[0]).toBe("chat 5");
  });

  test.each([
    ["an empty text", false, ""],
    [`${CHAT_MAX_CHARS} characters`, true, "x".repeat(CHAT_MAX_CHARS)],
    [`${CHAT_MAX_CHARS + 1} characters`, false, "x".repeat(CHAT_MAX_CHARS + 1)],
    [`${CHAT_MAX_CHARS} three-byte characters (above ${CHAT_MAX_BYTES} bytes)`, false, "€".repeat(CHAT_MAX_CHARS)],
    [`${CHAT_MAX_BYTES / 4} emoji (counted as characters, not UTF-16 units)`, true, "🙂".repeat(CHAT_MAX_BYTES / 4)],
  ])("a chat text of %s is within the limits: %s", (_name, within, text) => {
    expect(isChatTextWithinLimits(text)).toBe(within);
    const [a] = channelPair();
    a.router.receive(JSON.stringify(chat(text)));
    expect(a.seen).toEqual([within ? `chat ${text}` : "unreadable"]);
  });

  test("send() throws a RangeError above MESH_CHANNEL_MAX_BYTES and sends nothing", () => {
    const [a, b] = channelPair();
    a.router.open();
    expect(() => a.router.send({ type: "data", data: "x".repeat(MESH_CHANNEL_MAX_BYTES) })).toThrow(RangeError);
    expect(b.seen).toEqual([]);
  });
});

describe("sdpSectionUfrag", () => {
  const sdp = ["v=0", "a=ice-ufrag:session", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=ice-ufrag:first", "m=video 9 UDP/TLS/RTP/SAVPF 96", "m=application 9", "a=ice-ufrag:third", ""].join("\r\n");

  test.each([
    [0, "first"],
    [1, "session"],
    [2, "third"],
    [7, "session"],
  ])("section %i belongs to ufrag %s", (index, ufrag) => {
    expect(sdpSectionUfrag(sdp, index)).toBe(ufrag);
  });

  test("a description without any ufrag gives undefined", () => {
    expect(sdpSectionUfrag("v=0\r\nm=audio 9\r\n", 0)).toBeUndefined();
  });
});
