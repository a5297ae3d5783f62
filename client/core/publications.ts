/**
 * Local media as publications: tracks tagged with a source (`camera`, `microphone`, `screen`,
 * `screen-audio`) that a room session publishes, unpublishes and replaces after joining, and the
 * pure rules by which the remote side finds out which received track is which source.
 *
 * How the remote side learns the source: every source belongs to a *stream group* with its own
 * `MediaStream` id (`camera` + `microphone` share the "user" stream, `screen` + `screen-audio` the
 * "screen" stream), each track is added to the connection with its group's stream, and the stream
 * id travels in the SDP (`a=msid`). Browsers cannot choose stream ids, so the sender also
 * announces `{ source, streamId }` pairs over the pair's data channel (`sources`). The receiver
 * matches a received track to a source by (stream id, kind): see {@link matchRemotePublications}.
 * Keeping camera and microphone in one stream keeps what `peer-stream` always delivered: one
 * stream with the remote's audio and video.
 *
 * Modelled on LiveKit's `LocalParticipant.setScreenShareEnabled` + `Track.Source`: publishing a
 * source after joining is one call, not a rebuild.
 */
import { TRACK_SOURCES, type SourceAnnouncement, type TrackSource } from "../../shared/protocol/mesh.ts";
import { WebRtcRoomError } from "./errors.ts";

export { TRACK_SOURCES, type SourceAnnouncement, type TrackSource };

/** The kind of track each source carries. */
export const TRACK_SOURCE_KIND: Readonly<Record<TrackSource, "audio" | "video">> = {
  camera: "video",
  microphone: "audio",
  screen: "video",
  "screen-audio": "audio",
};

/** The stream group of each source: sources of one group share a `MediaStream` (one stream id). */
export const TRACK_SOURCE_GROUP: Readonly<Record<TrackSource, "user" | "screen">> = {
  camera: "user",
  microphone: "user",
  screen: "screen",
  "screen-audio": "screen",
};

/** One published track. `stream` only carries the group's id to the remote (it is the `msid`). */
export interface LocalPublication {
  readonly source: TrackSource;
  readonly track: MediaStreamTrack;
  readonly stream: MediaStream;
  /** When the source was published (epoch ms); a replaced track keeps it. */
  readonly sinceMs: number;
}

/**
 * Something that sends the publications: one peer connection per target. {@link LocalPublications}
 * tells every attached target about each change; a target built later reads
 * {@link LocalPublications.list} instead.
 */
export interface PublicationTarget {
  /** Adds the track to the connection (renegotiating) and announces the new sources. */
  addPublication(publication: LocalPublication): void;
  /** Removes the track from the connection (renegotiating) and announces the new sources. */
  removePublication(publication: LocalPublication): void;
  /** Swaps the track on the existing sender (`RTCRtpSender.replaceTrack`): no renegotiation. */
  replacePublicationTrack(publication: LocalPublication): Promise<void>;
}

/** Options of {@link LocalPublications}. */
export interface LocalPublicationsOptions {
  /** Makes an empty `MediaStream` (a stream group's id carrier); the browser's or `wrtc.MediaStream`. */
  createStream: () => MediaStream;
  /**
   * Legacy local stream (MeshSession's `stream` option): its audio track is published as
   * `microphone`, its video track as `camera`, and it is the "user" group's stream.
   */
  stream?: MediaStream;
}

/** The tracks this participant publishes, by source, and the connections that send them. */
export class LocalPublications {
  readonly #createStream: () => MediaStream;
  readonly #publications = new Map<TrackSource, LocalPublication>();
  /** One stream per group for the whole session, so that a source keeps its stream id when republished. */
  readonly #groupStreams = new Map<"user" | "screen", MediaStream>();
  readonly #targets = new Set<PublicationTarget>();
  /** False for a viewer (a join without the `publish` grant): nothing may be published. */
  #allowed = true;

  constructor(options: LocalPublicationsOptions) {
    this.#createStream = options.createStream;
    const stream = options.stream;
    if (stream) {
      this.#groupStreams.set("user", stream);
      const [audio] = stream.getAudioTracks();
      const [video] = stream.getVideoTracks();
      if (audio) {
        this.publish("microphone", audio);
      }
      if (video) {
        this.publish("camera", video);
      }
    }
  }

  /** False once the room said this participant may not publish (a viewer); see {@link LocalPublications.forbid}. */
  get allowed(): boolean {
    return this.#allowed;
  }

  /**
   * Stops every publication and refuses new ones: the room admitted this participant as a viewer
   * (no `publish` grant). Mesh media flows peer to peer, so this is where `publish` is honoured.
   */
  forbid(): void {
    this.#allowed = false;
    for (const source of [...this.#publications.keys()]) {
      this.unpublish(source);
    }
  }

  /**
   * Publishes `track` as `source` on every connection (each one renegotiates; the answering side
   * asks the offering side over the data channel). Throws a `WebRtcRoomError` with code
   * `not_allowed` for a viewer (see {@link LocalPublications.forbid}); throws when the source is
   * already published (use {@link LocalPublications.replace}), when the track's kind does not fit
   * the source, or when the track is already published under another source (a connection sends a
   * track once).
   */
  publish(source: TrackSource, track: MediaStreamTrack): LocalPublication {
    this.#check(source, track);
    if (this.#publications.has(source)) {
      throw new Error(`"${source}" is already published; replace() it instead`);
    }
    const publication: LocalPublication = { source, track, stream: this.#streamOf(source), sinceMs: Date.now() };
    this.#publications.set(source, publication);
    for (const target of this.#targets) {
      target.addPublication(publication);
    }
    return publication;
  }

  /** Stops sending `source` on every connection. Returns false when it was not published. */
  unpublish(source: TrackSource): boolean {
    const publication = this.#publications.get(source);
    if (!publication) {
      return false;
    }
    this.#publications.delete(source);
    for (const target of this.#targets) {
      target.removePublication(publication);
    }
    return true;
  }

  /**
   * Sends `track` instead of the current track of `source`, on the same senders of every
   * connection (`RTCRtpSender.replaceTrack`): no renegotiation, no rebuild. Resolves once every
   * connection swapped (a connection that refuses is left to its next rebuild, which uses the new
   * track). Publishes when `source` was not published. Throws `not_allowed` for a viewer.
   */
  async replace(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    this.#check(source, track);
    const current = this.#publications.get(source);
    if (!current) {
      this.publish(source, track);
      return;
    }
    const publication: LocalPublication = { ...current, track };
    this.#publications.set(source, publication);
    await Promise.allSettled([...this.#targets].map((target) => target.replacePublicationTrack(publication)));
  }

  /** The published tracks by source. */
  tracks(): ReadonlyMap<TrackSource, MediaStreamTrack> {
    return new Map([...this.#publications].map(([source, publication]) => [source, publication.track]));
  }

  /** The publication of `source`, if published. */
  get(source: TrackSource): LocalPublication | undefined {
    return this.#publications.get(source);
  }

  /** Every publication, in publishing order: what a new or rebuilt connection adds. */
  list(): LocalPublication[] {
    return [...this.#publications.values()];
  }

  /**
   * What the data channel's `sources` message says about the current publications; the `screen`
   * entry carries `sinceMs`, by which the room keeps one screen share (the newest).
   */
  announcement(): SourceAnnouncement[] {
    return this.list().map(({ source, stream, sinceMs }) => ({ source, streamId: stream.id, ...(source === "screen" ? { sinceMs } : {}) }));
  }

  /** Starts telling `target` about changes; returns the function that stops it. */
  attach(target: PublicationTarget): () => void {
    this.#targets.add(target);
    return () => {
      this.#targets.delete(target);
    };
  }

  /**
   * The stream that carries `source`'s group id to the remotes (made on first use, then kept for
   * the session): what a sender reserved for `source` before it is published is created with.
   */
  streamFor(source: TrackSource): MediaStream {
    return this.#streamOf(source);
  }

  #check(source: TrackSource, track: MediaStreamTrack): void {
    if (!this.#allowed) {
      throw new WebRtcRoomError("not_allowed", `cannot publish "${source}": this participant joined without the publish grant (a viewer)`);
    }
    if (track.kind !== TRACK_SOURCE_KIND[source]) {
      throw new TypeError(`"${source}" carries ${TRACK_SOURCE_KIND[source]}, not ${track.kind}`);
    }
    for (const publication of this.#publications.values()) {
      if (publication.track === track && publication.source !== source) {
        throw new Error(`this track is already published as "${publication.source}"`);
      }
    }
  }

  #streamOf(source: TrackSource): MediaStream {
    const group = TRACK_SOURCE_GROUP[source];
    let stream = this.#groupStreams.get(group);
    if (!stream) {
      stream = this.#createStream();
      this.#groupStreams.set(group, stream);
    }
    return stream;
  }
}

/** A track received on a connection, with the stream it arrived in. */
export interface ReceivedTrack<Track extends { kind: string } = MediaStreamTrack, Stream extends { id: string } = MediaStream> {
  track: Track;
  stream: Stream;
}

/**
 * Which received track is which source: for every announced `{ source, streamId }`, the latest
 * received track of the source's kind in a stream with that id. A source announced but not
 * received yet (or received but not announced) is not in the result. Pure.
 */
export function matchRemotePublications<Track extends { kind: string }, Stream extends { id: string }>(
  announced: readonly SourceAnnouncement[],
  received: readonly ReceivedTrack<Track, Stream>[],
): Map<TrackSource, ReceivedTrack<Track, Stream>> {
  const matched = new Map<TrackSource, ReceivedTrack<Track, Stream>>();
  for (const { source, streamId } of announced) {
    const kind = TRACK_SOURCE_KIND[source];
    // The latest wins: a transceiver reused after an unpublish may deliver a newer track.
    for (const entry of received) {
      if (entry.stream.id === streamId && entry.track.kind === kind) {
        matched.set(source, entry);
      }
    }
  }
  return matched;
}

/**
 * What changed between two matches: sources that `disappeared` (gone, or now another track) and
 * sources that `appeared` (new, or now another track). Disappearances first, so that a listener
 * sees a changed track go before the new one comes. Pure.
 */
export function diffPublications<Track, Stream>(
  before: ReadonlyMap<TrackSource, ReceivedTrack<Track & { kind: string }, Stream & { id: string }>>,
  after: ReadonlyMap<TrackSource, ReceivedTrack<Track & { kind: string }, Stream & { id: string }>>,
): { disappeared: TrackSource[]; appeared: TrackSource[] } {
  const disappeared: TrackSource[] = [];
  const appeared: TrackSource[] = [];
  for (const [source, entry] of before) {
    const next = after.get(source);
    if (!next || next.track !== entry.track) {
      disappeared.push(source);
    }
  }
  for (const [source, entry] of after) {
    const previous = before.get(source);
    if (!previous || previous.track !== entry.track) {
      appeared.push(source);
    }
  }
  return { disappeared, appeared };
}
