/**
 * Unit tests of the verbatim relay proof and the stamp: a frame is relayed from its own bytes only
 * when its text holds exactly the validated message.
 */
import type * as v from "valibot";
import { describe, expect, it } from "vitest";
import { decodeClientMessage, NewCandidateSchema, NewUserSchema, SendAnswerSchema, SendOfferSchema } from "../shared/protocol/index.ts";
import { countJsonStrings, countStringTokens, isVerbatim, objectBodyLength, RelayStamps } from "../server/relay-frame.ts";

const TARGET = "V1StGXR8_Z5jdHi6B-myT";
const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=group:BUNDLE 0\r\n";
const CANDIDATE = { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 };

/** Decodes `text` (it must be valid) and says whether it may be relayed verbatim. */
function verbatim(text: string): boolean {
  const decoded = decodeClientMessage(text);
  if (!decoded.ok) {
    throw new Error(`test frame refused: ${decoded.message}`);
  }
  return isVerbatim(text, decoded.message);
}

const offer = (extra = ""): string =>
  `{"type":"send_offer","targetId":"${TARGET}","sdp":{"type":"offer","sdp":${JSON.stringify(SDP)}}${extra}}`;

describe("isVerbatim (happy path)", () => {
  it.each([
    ["a compact send_offer", offer()],
    ["a send_aswer", JSON.stringify({ type: "send_aswer", targetId: TARGET, sdp: { type: "answer", sdp: SDP } })],
    ["a new_candidate", JSON.stringify({ type: "new_candidate", targetId: TARGET, ice: CANDIDATE })],
    ["a new_candidate with null fields", JSON.stringify({ type: "new_candidate", targetId: TARGET, ice: { candidate: "", sdpMid: null, sdpMLineIndex: null } })],
    ["a pretty-printed frame", JSON.stringify({ type: "send_offer", targetId: TARGET, sdp: { type: "offer", sdp: SDP } }, null, 2)],
    ["a frame with members in another order", `{"sdp":{"sdp":${JSON.stringify(SDP)},"type":"offer"},"targetId":"${TARGET}","type":"send_offer"}`],
    ["a frame with escapes other than \\\"", `{"type":"send\\u005foffer","targetId":"${TARGET}","sdp":{"type":"offer","sdp":"a\\\\b\\/c\\t\\u00e9"}}`],
  ])("accepts %s", (_name, text) => {
    expect(verbatim(text)).toBe(true);
  });
});

describe("isVerbatim (failure cases: relayed re-serialized instead)", () => {
  it.each([
    ["a forged id", offer(`,"id":"someone-else"`)],
    ["a forged username", offer(`,"username":"admin"`)],
    ["an unknown nested member", `{"type":"send_offer","targetId":"${TARGET}","sdp":{"type":"offer","sdp":"v=0","x":1}}`],
    ["an unknown member holding no string", offer(`,"extra":[1,2,{}]`)],
    ["a __proto__ member", offer(`,"__proto__":{"id":"x"}`)],
    ["a duplicated targetId", `{"type":"send_offer","targetId":"somebody","targetId":"${TARGET}","sdp":{"type":"offer","sdp":"v=0"}}`],
    ["a duplicated nested member", `{"type":"send_offer","targetId":"${TARGET}","sdp":{"type":"answer","type":"offer","sdp":"v=0"}}`],
    ["a duplicated member whose first value is not a string", `{"type":"send_offer","targetId":"${TARGET}","sdp":7,"sdp":{"type":"offer","sdp":"v=0"}}`],
    ["an escaped quote", `{"type":"send_offer","targetId":"${TARGET}","sdp":{"type":"offer","sdp":"say \\"hi\\""}}`],
    ["an escaped backslash closing a string", `{"type":"send_offer","targetId":"${TARGET}","sdp":{"type":"offer","sdp":"c:\\\\"}}`],
  ])("refuses %s", (_name, text) => {
    expect(verbatim(text)).toBe(false);
  });
});

describe("string counting", () => {
  it.each([
    ['{"a":"b"}', 2],
    ['{"a":1,"b":[true,null,"x"]}', 3],
    ["[]", 0],
    ['{"a":"\\\\"}', -1],
    ['{"a":"\\""}', -1],
  ])("countStringTokens(%s) is %i", (text, count) => {
    expect(countStringTokens(text)).toBe(count);
  });

  it.each([
    [{ a: "b" }, 2],
    [{ a: 1, b: [true, null, "x"] }, 3],
    [{ a: undefined, b: "c" }, 2],
    ["x", 1],
    [42, 0],
  ])("countJsonStrings(%j) is %i", (value, count) => {
    expect(countJsonStrings(value)).toBe(count);
  });
});

describe("the relayed frame", () => {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  /** The frame the server builds from `text` for sender `id` named `username`. */
  function stamped(text: string, id: string, username: string): unknown {
    const bytes = encoder.encode(text);
    const stamp = new RelayStamps().get(id, username);
    const length = objectBodyLength(bytes);
    return JSON.parse(decoder.decode(bytes.subarray(0, length)) + decoder.decode(stamp));
  }

  it("equals the validated message stamped with the sender, whatever the whitespace", () => {
    const message = { type: "send_offer", targetId: TARGET, sdp: { type: "offer", sdp: SDP } };
    for (const text of [JSON.stringify(message), `${JSON.stringify(message, null, 2)}\r\n\t `]) {
      expect(stamped(text, "sender-id", "Ada")).toEqual({ ...message, id: "sender-id", username: "Ada" });
    }
  });

  it("escapes a display name that needs it", () => {
    const username = 'Zoë "the" \\ 🦊';
    expect(stamped(offer(), "sender-id", username)).toMatchObject({ id: "sender-id", username });
  });

  it("follows a sender's new display name after a rejoin", () => {
    const stamps = new RelayStamps();
    const decode = (bytes: Uint8Array): unknown => JSON.parse(`{"type":"x"${decoder.decode(bytes)}`);
    expect(decode(stamps.get("a", "Ada"))).toMatchObject({ username: "Ada" });
    expect(decode(stamps.get("a", "Grace"))).toMatchObject({ username: "Grace" });
  });
});

/** Every validation step of `schema`, recursively; a transformation would break the proof. */
function actionKinds(schema: unknown, seen = new Set<unknown>()): string[] {
  if (typeof schema !== "object" || schema === null || seen.has(schema)) {
    return [];
  }
  seen.add(schema);
  const node = schema as { kind?: string; pipe?: unknown[]; entries?: Record<string, unknown>; wrapped?: unknown };
  const kinds = node.kind ? [node.kind] : [];
  for (const child of [...(node.pipe ?? []).slice(1), ...Object.values(node.entries ?? {}), node.wrapped]) {
    kinds.push(...actionKinds(child, seen));
  }
  return kinds;
}

describe("the relay schemas", () => {
  it.each([
    ["send_offer", SendOfferSchema],
    ["send_aswer", SendAnswerSchema],
    ["new_candidate", NewCandidateSchema],
  ] as Array<[string, v.GenericSchema]>)("%s validates without transforming, as verbatim relaying requires", (_type, schema) => {
    expect(actionKinds(schema)).not.toContain("transformation");
  });

  it("are checked by a walk that does find transformations (new_user trims its username)", () => {
    expect(actionKinds(NewUserSchema)).toContain("transformation");
  });
});
