/**
 * Mesh family, peer-to-peer half: the messages two room participants exchange directly over the
 * data channel of their pair, never through the server.
 *
 * One JSON object per data-channel message, a union keyed on `type`. User payloads travel as
 * `data`; everything else is internal to the mesh session (media state, round-trip probes, and
 * the renegotiation requests that the signaling protocol has no message for).
 */
import * as v from "valibot";

/**
 * Largest data-channel message, in bytes of UTF-8 JSON. 16 KiB is the size every browser's SCTP
 * stack delivers without fragmentation problems; the channel is meant for small messages.
 */
export const MESH_CHANNEL_MAX_BYTES = 16 * 1024;

/** Whether a participant's outgoing audio and video are on (`track.enabled`). */
export const MediaStateSchema = v.object({
  audio: v.boolean(),
  video: v.boolean(),
});

/** A participant's announced media state. */
export type MediaState = v.InferOutput<typeof MediaStateSchema>;

/** A probe sequence number; safe integers only, so that echoing it back never loses precision. */
const SequenceSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

/** Every message a peer may send over the pair's data channel. */
const MeshChannelMessageSchema = v.variant("type", [
  /** An application payload, delivered to the other side's `peer-data` listeners. */
  v.object({ type: v.literal("data"), data: v.unknown() }),
  /** The sender's current media state; sent on connect and on every change. */
  v.object({ type: v.literal("media"), audio: v.boolean(), video: v.boolean() }),
  /** A round-trip probe; the receiver answers `pong` with the same `seq`. */
  v.object({ type: v.literal("ping"), seq: SequenceSchema }),
  v.object({ type: v.literal("pong"), seq: SequenceSchema }),
  /**
   * The answering side wants a new negotiation (it added tracks). Only the offering side may
   * offer, so the request travels to it here and the new offer goes through the server as usual.
   */
  v.object({ type: v.literal("renegotiate") }),
  /** The answering side needs an m-line of `kind` that the offering side must add and offer. */
  v.object({ type: v.literal("transceiver_request"), kind: v.picklist(["audio", "video"]) }),
]);

/** A validated data-channel message. */
export type MeshChannelMessage = v.InferOutput<typeof MeshChannelMessageSchema>;

/**
 * Decodes one data-channel text message from a remote peer. Never throws: anything that is not a
 * known message comes back as `undefined`, because the remote may run a different build.
 */
export function decodeMeshChannelMessage(text: string): MeshChannelMessage | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = v.safeParse(MeshChannelMessageSchema, data);
  return parsed.success ? parsed.output : undefined;
}
