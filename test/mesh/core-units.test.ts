/**
 * The pure parts of the mesh client: the typed emitter, the data-channel protocol, the signaling
 * client's lifecycle, and the statistics of the load-test report.
 */
import { describe, expect, test } from "vitest";
import WebSocket from "ws";
import { SignalingClient, SignalingState, TypedEmitter } from "../../client/core/index.ts";
import { decodeMeshChannelMessage, MESH_CHANNEL_MAX_BYTES } from "../../shared/protocol/mesh.ts";
import { distribution, isUdpCandidate, roomSizes } from "../../client/headless/peers.ts";
import { startTestServer } from "./helpers.ts";

type TestEvents = { tick: number; tock: string };

/** An emitter whose `emit` a test may call. */
class OpenEmitter extends TypedEmitter<TestEvents> {
  fire<Name extends keyof TestEvents>(name: Name, payload: TestEvents[Name]): void {
    this.emit(name, payload);
  }
}

describe("TypedEmitter", () => {
  test("a throwing listener is reported and the listeners after it still run", () => {
    const reported: string[] = [];
    const emitter = new OpenEmitter((error, eventName) => reported.push(`${eventName}: ${(error as Error).message}`));
    const calls: string[] = [];
    emitter.on("tick", () => calls.push("first"));
    emitter.on("tick", () => {
      throw new Error("boom");
    });
    emitter.on("tick", (value) => calls.push(`third ${value}`));

    emitter.fire("tick", 7);

    expect(calls).toEqual(["first", "third 7"]);
    expect(reported).toEqual(["tick: boom"]);
  });

  test("once() fires a single time and the function returned by on() removes the listener", () => {
    const emitter = new OpenEmitter();
    const calls: string[] = [];
    emitter.once("tock", (value) => calls.push(`once ${value}`));
    const off = emitter.on("tock", (value) => calls.push(`on ${value}`));

    emitter.fire("tock", "a");
    off();
    emitter.fire("tock", "b");

    expect(calls).toEqual(["once a", "on a"]);
    expect(emitter.listenerCount("tock")).toBe(0);
  });
});

describe("data-channel protocol", () => {
  const cases: Array<[string, string, unknown]> = [
    ["an application payload", '{"type":"data","data":{"x":[1,2]}}', { type: "data", data: { x: [1, 2] } }],
    ["a media state", '{"type":"media","audio":false,"video":true}', { type: "media", audio: false, video: true }],
    ["a ping", '{"type":"ping","seq":3}', { type: "ping", seq: 3 }],
    ["a pong", '{"type":"pong","seq":0}', { type: "pong", seq: 0 }],
    ["a renegotiation request", '{"type":"renegotiate"}', { type: "renegotiate" }],
    ["a transceiver request", '{"type":"transceiver_request","kind":"video"}', { type: "transceiver_request", kind: "video" }],
    ["text that is not JSON", "hello", undefined],
    ["an unknown type", '{"type":"teleport"}', undefined],
    ["a media state with a missing field", '{"type":"media","audio":true}', undefined],
    ["a negative ping sequence", '{"type":"ping","seq":-1}', undefined],
    ["a transceiver request of an unknown kind", '{"type":"transceiver_request","kind":"hologram"}', undefined],
  ];

  test.each(cases)("decodeMeshChannelMessage reads %s", (_name, text, expected) => {
    expect(decodeMeshChannelMessage(text)).toEqual(expected);
  });

  test("the message size bound is the 16 KiB every browser delivers", () => {
    expect(MESH_CHANNEL_MAX_BYTES).toBe(16_384);
  });
});

describe("SignalingClient", () => {
  test("connect() opens, close() is safe twice and reports a client close", async () => {
    const server = await startTestServer();
    try {
      const client = new SignalingClient({ url: server.wsUrl, WebSocket });
      const closes: unknown[] = [];
      client.on("close", (info) => closes.push(info));
      await client.connect();
      expect(client.state).toBe(SignalingState.open);
      expect(client.send({ type: "ping", t: 1 })).toBe(true);

      client.close();
      client.close();

      expect(client.closed).toBe(true);
      expect(client.send({ type: "ping" })).toBe(false);
      expect(closes).toEqual([{ code: 1000, reason: "client closed", byClient: true, opened: true }]);
    } finally {
      await server.close();
    }
  });

  test("connect() rejects and the close says it never opened when nothing listens", async () => {
    const server = await startTestServer();
    const url = server.wsUrl;
    await server.close();
    const client = new SignalingClient({ url, WebSocket });
    const opened: boolean[] = [];
    client.on("close", (info) => opened.push(info.opened));

    await expect(client.connect()).rejects.toThrow(/closed before opening/);
    expect(opened).toEqual([false]);
    expect(client.state).toBe(SignalingState.closed);
  });
});

describe("load-test report helpers", () => {
  test.each([
    [6, 1, [6]],
    [12, 2, [6, 6]],
    [7, 3, [3, 2, 2]],
    [2, 5, [1, 1]],
  ])("roomSizes spreads %i peers over %i rooms as %j", (peers, rooms, expected) => {
    expect(roomSizes(peers, rooms)).toEqual(expected);
  });

  test("distribution gives nearest-rank percentiles and null for no samples", () => {
    const samples = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(distribution(samples)).toEqual({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    expect(distribution([4.26])).toEqual({ count: 1, p50: 4.3, p95: 4.3, p99: 4.3, max: 4.3 });
    expect(distribution([])).toBeNull();
  });

  test.each([
    ["candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0", true],
    ["candidate:2 1 UDP 2122260223 10.0.0.2 50001 typ srflx raddr 0.0.0.0 rport 0", true],
    ["candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active", false],
  ])("isUdpCandidate(%s) is %s", (candidate, expected) => {
    expect(isUdpCandidate({ candidate, sdpMid: "0", sdpMLineIndex: 0 })).toBe(expected);
  });
});
