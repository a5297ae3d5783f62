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

/**
 * Where a local track comes from. A room session publishes at most one track per source; the
 * remote side exposes the tracks it receives by source.
 */
export const TRACK_SOURCES = ["camera", "microphone", "screen", "screen-audio"] as const;

/** A value of {@link TRACK_SOURCES}. */
export type TrackSource = (typeof TRACK_SOURCES)[number];

/** Longest stream id accepted in a `sources` message (browsers use 36-character UUIDs). */
const MAX_STREAM_ID_LENGTH = 256;

/**
 * One published source and the id of the `MediaStream` its track is sent in (the SDP's `msid`).
 * A `screen` entry also says since when the sender shares (`sinceMs`, the sender's clock, epoch
 * ms): a room has one screen share at a time, the newest wins (see `client/core/screen-share.ts`).
 * Older builds ignore the field.
 */
export const SourceAnnouncementSchema = v.object({
  source: v.picklist(TRACK_SOURCES),
  streamId: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_STREAM_ID_LENGTH)),
  sinceMs: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
});

/** One entry of a `sources` message. */
export type SourceAnnouncement = v.InferOutput<typeof SourceAnnouncementSchema>;

/** Longest chat text, in characters (Unicode code points). */
export const CHAT_MAX_CHARS = 2_000;

/** Longest chat text, in bytes of UTF-8 (a text of emoji reaches it before {@link CHAT_MAX_CHARS}). */
export const CHAT_MAX_BYTES = 4 * 1024;

/** Longest chat message id; senders use 32 hexadecimal digits. */
const MAX_CHAT_ID_LENGTH = 64;

const utf8 = new TextEncoder();

/** True when `text` is a chat text that every build accepts: not empty, within both limits. */
export function isChatTextWithinLimits(text: string): boolean {
  return text.length > 0 && text.length <= CHAT_MAX_BYTES && [...text].length <= CHAT_MAX_CHARS && utf8.encode(text).byteLength <= CHAT_MAX_BYTES;
}

/** A probe sequence number; safe integers only, so that echoing it back never loses precision. */
const SequenceSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

/** Largest tile edge a `video_hint` may name, in pixels (8K). */
export const MAX_VIDEO_HINT_PIXELS = 7_680;

/** A tile edge in a `video_hint`: whole pixels, 1 to {@link MAX_VIDEO_HINT_PIXELS}. */
const HintEdgeSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(MAX_VIDEO_HINT_PIXELS));

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
   * Everything the sender publishes now, replacing the previous announcement: the receiver tells
   * which received track is which source by stream id and kind. Sent on connect and on every
   * publish or unpublish, before the track is added to or removed from the connection.
   */
  v.object({
    type: v.literal("sources"),
    sources: v.pipe(v.array(SourceAnnouncementSchema), v.maxLength(TRACK_SOURCES.length)),
  }),
  /**
   * The answering side wants a new negotiation (it added tracks). Only the offering side may
   * offer, so the request travels to it here and the new offer goes through the server as usual.
   */
  v.object({ type: v.literal("renegotiate") }),
  /**
   * One chat message to the receiving participant (the sender sends it to each pair). Its sender
   * is the pair's remote, known from the connection, so the message does not name one; `id`
   * (random) lets the receiver drop a copy, `sentAtMs` is the sender's clock (epoch ms).
   */
  v.object({
    type: v.literal("chat"),
    id: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_CHAT_ID_LENGTH)),
    sentAtMs: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
    text: v.pipe(v.string(), v.check(isChatTextWithinLimits)),
  }),
  /** The answering side needs an m-line of `kind` that the offering side must add and offer. */
  v.object({ type: v.literal("transceiver_request"), kind: v.picklist(["audio", "video"]) }),
  /**
   * The receiver shows the sender's `source` video (camera by default) at most this large
   * (device pixels): the sender scales that encoding down to it and lowers its bitrate cap, which
   * leaves more of its uplink budget to the other peers. Sent on connect and on every change.
   */
  v.object({
    type: v.literal("video_hint"),
    source: v.optional(v.picklist(["camera", "screen"])),
    maxWidth: HintEdgeSchema,
    maxHeight: HintEdgeSchema,
  }),
]);

/** A validated data-channel message. */
export type MeshChannelMessage = v.InferOutput<typeof MeshChannelMessageSchema>;

/** A `chat` data-channel message. */
export type ChatChannelMessage = Extract<MeshChannelMessage, { type: "chat" }>;

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
