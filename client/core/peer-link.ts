/**
 * A peer link: the connection to one remote, for a room pair and for a call alike. One simple-peer
 * instance, hence one `RTCPeerConnection` and one data channel, at a time.
 *
 * The link turns simple-peer's `signal` output into domain signals ({@link PeerSignal}: an offer,
 * an answer, a candidate), which its owner puts into its own wire messages (`send_offer`… for a
 * room, `call` / `callDescription` / `onIceCandidate` for a call), and takes the remote's signals
 * back the same way. It bounds the connection (connect timeout, ICE `disconnected` bound), sends
 * the owner's publications, and routes the data channel (`data-channel.ts`): application payloads,
 * media state, source announcements, round-trip probes, and the renegotiation requests of the
 * answering side, which only the offering side can act on.
 *
 * A link outlives its connections: when the pair fails, {@link PeerLink.rebuild} puts a new
 * simple-peer (a new `RTCPeerConnection`) behind the same object, so that whoever holds the
 * {@link RemotePeer} keeps a valid handle. Events of a replaced connection are ignored.
 */
import SimplePeer from "simple-peer";
import type { IceCandidate, IceServer } from "../../shared/protocol/index.ts";
import type { ChatChannelMessage, MediaState, SourceAnnouncement, TrackSource } from "../../shared/protocol/mesh.ts";
import { isVideoSource, type VideoEncodingFit, type VideoHint, type VideoSource } from "./bandwidth.ts";
import { DataChannelRouter, PING_TIMEOUT_MS, type RenegotiationRequest } from "./data-channel.ts";
import { TypedEmitter, type ListenerErrorHandler } from "./emitter.ts";
import {
  TRACK_SOURCE_GROUP,
  TRACK_SOURCE_KIND,
  diffPublications,
  matchRemotePublications,
  type LocalPublication,
  type LocalPublications,
  type PublicationTarget,
  type ReceivedTrack,
} from "./publications.ts";

/**
 * A WebRTC implementation to use instead of the browser's, e.g. `@roamhq/wrtc` in Node. Spelled
 * out (it is simple-peer's `wrtc` option) so that the package's public types do not need
 * @types/simple-peer.
 */
export interface WebRtcImplementation {
  RTCPeerConnection: typeof RTCPeerConnection;
  RTCSessionDescription: typeof RTCSessionDescription;
  RTCIceCandidate: typeof RTCIceCandidate;
  /** Used to make the stream that carries a source group's id when publishing after joining. */
  MediaStream?: typeof MediaStream;
}

/**
 * Lifecycle of the connection to one remote: `connecting → connected → failed → connecting …`
 * (each rebuild starts a new connection), and `closed`, which is final.
 */
export const PeerState = {
  /** Offer, answer and ICE checks in progress (first connection or a rebuild). */
  connecting: "connecting",
  /** ICE connected and the data channel open. */
  connected: "connected",
  /**
   * The connection is down: ICE failed, ICE stayed disconnected past the bound, the data channel
   * broke, or the remote closed its side. The remote may still be in the room; the session
   * rebuilds the pair or drops the remote when the server says it left.
   */
  failed: "failed",
  /** Closed by this side (`destroy()`); final. */
  closed: "closed",
} as const;

/** A value of {@link PeerState}. */
export type PeerState = (typeof PeerState)[keyof typeof PeerState];

/**
 * A negotiation step between the two ends of a link, with no wire name: the owner carries it in
 * its own messages. `candidate` is the full `RTCIceCandidateInit`, `usernameFragment` included
 * when the browser gave one (it tells candidates of an ICE restart from older ones).
 */
export type PeerSignal =
  | { kind: "offer"; sdp: string }
  | { kind: "answer"; sdp: string }
  | { kind: "candidate"; candidate: IceCandidate };

/** What a link emits as `signal` (the former name, from when signals were room messages). */
export type OutgoingSignal = PeerSignal;

/** What a link takes in {@link PeerLink.signal} (the former name, from when signals were room messages). */
export type IncomingSignal = PeerSignal;

/** Codes of the errors a peer reports. */
export type PeerErrorCode =
  /**
   * The connection failed; `message` starts with simple-peer's code (`ERR_ICE_CONNECTION_FAILURE`…),
   * or `ERR_ICE_DISCONNECTED` (disconnected past the bound), `ERR_CONNECT_TIMEOUT`, `ERR_FORCED`.
   */
  | "peer_failed"
  /** The remote sent something this build does not understand, or out of its role. */
  | "bad_peer_message";

/** Events of a {@link PeerLink}. */
export type PeerEvents = {
  state: { state: PeerState; previous: PeerState };
  /** A negotiation step for the remote; the owner sends it through the server. */
  signal: PeerSignal;
  /**
   * A remote media stream with camera or microphone arrived (once per stream, once the remote
   * announced its sources; screen streams come only as `publication`).
   */
  stream: MediaStream;
  /** A remote track of `source` arrived (or replaced the previous one of that source). */
  publication: RemotePublication;
  /** The remote stopped publishing `source`, or the connection carrying it was replaced. */
  unpublication: { source: TrackSource };
  /** An application payload sent with the remote's `send()`. */
  data: unknown;
  /** The remote announced its media state. */
  media: MediaState;
  /** The remote shows this side's `source` video at most this large (see `bandwidth.ts`). */
  "video-hint": { source: VideoSource; hint: VideoHint };
  /** A chat message from the remote (copies included: the owner drops them by id). */
  chat: ChatChannelMessage;
  error: { code: PeerErrorCode; message: string };
  /** The remote announced what it publishes now (every `sources` message, before tracks match). */
  sources: { sources: SourceAnnouncement[] };
};

/**
 * What {@link PeerLink.applyVideoFit} did: `applied`, `unchanged` (the sender already has these
 * parameters), `no_sender` (the source is not sent on the current connection) or `refused`
 * (`setParameters` rejected, e.g. @roamhq/wrtc, which refuses every change once negotiated).
 */
export type VideoFitOutcome = "applied" | "unchanged" | "no_sender" | "refused";

/** A track a remote publishes, tagged with its source. */
export interface RemotePublication {
  source: TrackSource;
  track: MediaStreamTrack;
  stream: MediaStream;
}

/** What the rest of the application may read about a remote peer. */
export interface RemotePeer {
  /** Server-assigned participant id of the remote. */
  readonly id: string;
  readonly username: string;
  /** True when this side sends the offers (it joined after the remote). */
  readonly initiator: boolean;
  readonly state: PeerState;
  readonly isConnected: boolean;
  /** The remote's camera/microphone stream, once one arrived. */
  readonly stream: MediaStream | undefined;
  /** The remote's published streams by source (`camera` and `microphone` share one). */
  readonly streamsBySource: ReadonlyMap<TrackSource, MediaStream>;
  /** The remote's track of `source`, while it publishes one. */
  trackBySource(source: TrackSource): MediaStreamTrack | undefined;
  /** The remote's last announced media state, if it announced one. */
  readonly mediaState: MediaState | undefined;
  /** Since when the remote shares its screen (its clock, epoch ms), while it announces one. */
  readonly screenSinceMs: number | undefined;
  /**
   * The current `RTCPeerConnection` (for `getStats()`; negotiation belongs to the peer). A rebuild
   * replaces it; `undefined` once closed.
   */
  readonly peerConnection: RTCPeerConnection | undefined;
  /** How many times the pair was rebuilt with a new connection (0 for the first one). */
  readonly rebuilds: number;
}

/** Options of a {@link PeerLink}. */
export interface PeerLinkOptions {
  /** The remote's id (a room participant id, or the other party's user id in a call). */
  id: string;
  username: string;
  /** True on the offering side: it makes every offer, the other side only answers. */
  initiator: boolean;
  iceServers: IceServer[];
  /** Local media to send to this remote (ignored when `publications` is given). */
  stream?: MediaStream;
  /**
   * The tracks to send, by source: every connection (first or rebuilt) adds what is published
   * at that moment. The owner attaches the peer to it to forward later changes.
   */
  publications?: LocalPublications;
  wrtc?: WebRtcImplementation;
  /** Local ICE candidates for which this returns false are not sent to the remote. */
  candidateFilter?: CandidateFilter;
  /** `RTCConfiguration` fields other than `iceServers`, e.g. `iceTransportPolicy: "relay"`. */
  rtcConfiguration?: RtcConfigurationExtras;
  /** How long ICE may stay `disconnected` before the connection counts as failed. */
  disconnectedTimeoutMs?: number;
  /** How long the offering side's connection may stay `connecting` before it counts as failed; 0 for no bound. */
  connectTimeoutMs?: number;
  /** Options of every offer this side makes, e.g. `offerToReceiveVideo` for a side that may send nothing. */
  offerOptions?: RTCOfferOptions;
  /**
   * `false` makes the link publish-only: every offer and answer it makes is `sendonly` where it
   * has a track and `inactive` elsewhere, so the remote sends it no media and nothing is decoded
   * (a camera peer). Data channel and signaling are unchanged. Defaults to `true`.
   */
  receiveMedia?: boolean;
  /**
   * On the offering side with `publications`: the first offer of every connection carries a
   * camera and a microphone section even while they are not published (a transceiver with the
   * "user" stream and no track yet), so that one offer and answer set up media both ways: the
   * remote's tracks arrive at once instead of after a renegotiation, and a track published later
   * goes onto the reserved sender with `replaceTrack`, without negotiating again. For a joiner whose
   * camera is still opening (see `RESERVED_USER_SOURCES`).
   */
  reserveUserMedia?: boolean;
  onListenerError?: ListenerErrorHandler;
}

/**
 * The sources {@link PeerLinkOptions.reserveUserMedia} reserves a sender for, in m-line order
 * (microphone first, as a published stream's tracks are added).
 */
export const RESERVED_USER_SOURCES = ["microphone", "camera"] as const satisfies readonly TrackSource[];

/** The former name of {@link PeerLinkOptions}. */
export type MeshPeerOptions = PeerLinkOptions;

/** `RTCConfiguration` without `iceServers`, which come from the server. */
export type RtcConfigurationExtras = Omit<RTCConfiguration, "iceServers">;

/**
 * How long ICE may stay `disconnected` before the pair is given up and rebuilt. Short network
 * blips (a Wi-Fi roam) recover by themselves within a few seconds; consent freshness would only
 * declare `failed` after about 30 s.
 */
export const ICE_DISCONNECTED_TIMEOUT_MS = 5_000;

/** How long a connection may take to come up before it counts as failed. */
export const PEER_CONNECT_TIMEOUT_MS = 30_000;

/** Decides whether a local ICE candidate is worth sending to the remote. */
export type CandidateFilter = (ice: IceCandidate) => boolean;

export { PING_TIMEOUT_MS };

/** A listener as simple-peer's (untyped) `on` / `off` take it. */
type SimplePeerListener = Parameters<SimplePeer.Instance["off"]>[1];

/** The session id of an SDP's `o=` line: a new `RTCPeerConnection` picks a new one, renegotiations keep it. */
export function sdpSessionId(sdp: string): string | undefined {
  return /^o=\S+ (\S+) /m.exec(sdp)?.[1];
}

/** Every `a=ice-ufrag:` value of an SDP. */
function sdpIceUfrags(sdp: string): string[] {
  return [...sdp.matchAll(/^a=ice-ufrag:(\S+)/gm)].map((match) => match[1] ?? "");
}

/** The ICE username fragment a candidate belongs to, when it says. */
function candidateUfrag(ice: IceCandidate): string | undefined {
  return ice.usernameFragment ?? / ufrag (\S+)/.exec(ice.candidate)?.[1];
}

/**
 * The ICE username fragment of m-section `mLineIndex` of a local description (an `a=ice-ufrag`
 * there, else at session level): what a candidate gathered for that section belongs to.
 */
export function sdpSectionUfrag(sdp: string, mLineIndex: number): string | undefined {
  const [session = "", ...sections] = sdp.split(/^(?=m=)/m);
  const ufragOf = (text: string): string | undefined => /^a=ice-ufrag:(\S+)/m.exec(text)?.[1];
  const section = sections[mLineIndex];
  return (section === undefined ? undefined : ufragOf(section)) ?? ufragOf(session);
}

/** How an incoming offer relates to the current connection; see {@link PeerLink.classifyOffer}. */
export type OfferKind = "first" | "renegotiation" | "new" | "stale";

/**
 * Makes every description `pc` creates publish-only: right before each offer and answer, a
 * transceiver with a track to send becomes `sendonly` and any other `inactive`. simple-peer
 * creates the descriptions itself (including for the transceivers the remote asks for), so the
 * two methods it calls are wrapped on this one connection.
 */
function negotiateSendOnly(pc: RTCPeerConnection): void {
  const restrictToSending = (): void => {
    for (const transceiver of pc.getTransceivers()) {
      if (transceiver.currentDirection === "stopped") {
        continue;
      }
      const direction: RTCRtpTransceiverDirection = transceiver.sender.track ? "sendonly" : "inactive";
      if (transceiver.direction !== direction) {
        transceiver.direction = direction;
      }
    }
  };
  const createOffer = pc.createOffer.bind(pc);
  const createAnswer = pc.createAnswer.bind(pc);
  Object.assign(pc, {
    createOffer: (options?: RTCOfferOptions) => {
      restrictToSending();
      return createOffer(options);
    },
    createAnswer: (options?: RTCAnswerOptions) => {
      restrictToSending();
      return createAnswer(options);
    },
  });
}

/** True when two encodings set the same parameters. */
function sameEncoding(a: VideoEncodingFit, b: VideoEncodingFit): boolean {
  return a.maxBitrate === b.maxBitrate && a.scaleResolutionDownBy === b.scaleResolutionDownBy && a.maxFramerate === b.maxFramerate;
}

/**
 * `pc` seen through a proxy whose `localDescription` and `remoteDescription` are the descriptions
 * last set on it, kept in JavaScript, instead of @roamhq/wrtc's getters. Those serialize the
 * native description on the caller's thread while libwebrtc changes it on its own (each gathered
 * candidate is added to the local one), a race that kills the process (SIGSEGV in `SdpSerialize`,
 * node-webrtc #696). simple-peer reads both: the local one once per offer and answer, the remote
 * one for every incoming candidate. Everything else goes to the connection itself. Only for Node:
 * browsers' getters are safe.
 */
function withStableDescriptions(pc: RTCPeerConnection): RTCPeerConnection {
  let local: RTCSessionDescriptionInit | null = null;
  let remote: RTCSessionDescriptionInit | null = null;
  const remember = (description: RTCSessionDescriptionInit | undefined): RTCSessionDescriptionInit | null =>
    description?.type === undefined ? null : { type: description.type, sdp: description.sdp ?? "" };
  const overrides: Partial<Record<PropertyKey, unknown>> = {
    setLocalDescription: async (description?: RTCSessionDescriptionInit) => {
      await pc.setLocalDescription(description);
      local = remember(description) ?? local;
    },
    setRemoteDescription: async (description: RTCSessionDescriptionInit) => {
      await pc.setRemoteDescription(description);
      remote = remember(description);
    },
  };
  return new Proxy(pc, {
    get(target, property) {
      if (property === "localDescription") {
        return local;
      }
      if (property === "remoteDescription") {
        return remote;
      }
      if (property in overrides) {
        return overrides[property];
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
    set(target, property, value) {
      return Reflect.set(target, property, value);
    },
  });
}

/** simple-peer's instance, with the connection it keeps in a private field. */
type SimplePeerInstance = SimplePeer.Instance & {
  _pc?: RTCPeerConnection | null;
  /** Untyped in @types/simple-peer: starts a negotiation (an offer on the offering side). */
  negotiate(): void;
};

/** The connection to one remote: its `RTCPeerConnection` (through simple-peer) and data channel. */
export class PeerLink extends TypedEmitter<PeerEvents> implements RemotePeer, PublicationTarget {
  readonly id: string;
  readonly username: string;
  readonly initiator: boolean;
  readonly #options: PeerLinkOptions;
  readonly #candidateFilter: CandidateFilter | undefined;
  #iceServers: IceServer[];
  /** The current connection; events of earlier ones are ignored. */
  #peer: SimplePeerInstance;
  #rebuilds = 0;
  #state: PeerState = PeerState.connecting;
  #stream: MediaStream | undefined;
  #mediaState: MediaState | undefined;
  /** The data channel of the current connection: opened on connect, closed on teardown. */
  readonly #channel: DataChannelRouter;
  /** `o=` session id of the remote's description on the current connection. */
  #remoteSessionId: string | undefined;
  /**
   * This side's last offer or answer on the current connection, as signaled: where a candidate
   * whose line names no ufrag finds the one of its m-section. Never read back from the
   * connection: @roamhq/wrtc serializes `localDescription` on the caller's thread while libwebrtc
   * adds each gathered candidate to it on its own, and that race killed the process (SIGSEGV in
   * `SdpSerialize`) when it was read for every candidate.
   */
  #localSdp: string | undefined;
  /** ICE ufrags of the remote's current description, and of descriptions that no longer apply. */
  #remoteUfrags = new Set<string>();
  readonly #staleUfrags = new Set<string>();
  /** `o=` session ids of remote connections this peer replaced. */
  readonly #staleSessionIds = new Set<string>();
  #disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Senders of the local publications on the current connection. */
  readonly #senders = new Map<TrackSource, RTCRtpSender>();
  /** Senders reserved for unpublished user sources on the current connection (no track yet); see `reserveUserMedia`. */
  readonly #reservedSenders = new Map<TrackSource, RTCRtpSender>();
  /** Tracks received on the current connection, in arrival order. */
  #received: ReceivedTrack[] = [];
  /** The remote's last `sources` message on the current connection. */
  #announced: SourceAnnouncement[] | undefined;
  /** Received streams not yet announced as camera/microphone (not emitted as `stream` yet). */
  #heldStreams: MediaStream[] = [];
  /** The remote's publications as last emitted. */
  #remotePublications = new Map<TrackSource, ReceivedTrack>();
  /** What this side last asked the remote to send it, by source; re-sent on every connect. */
  readonly #videoHints = new Map<VideoSource, VideoHint>();
  /** Encoding parameters set on the current connection's senders, by source. */
  readonly #appliedFits = new Map<VideoSource, VideoEncodingFit>();

  constructor(options: PeerLinkOptions) {
    super(options.onListenerError);
    this.id = options.id;
    this.username = options.username;
    this.initiator = options.initiator;
    this.#options = options;
    this.#candidateFilter = options.candidateFilter;
    this.#iceServers = options.iceServers;
    this.#channel = new DataChannelRouter(
      (text) => this.#peer.send(text),
      {
        data: (payload) => this.emit("data", payload),
        media: (state) => {
          this.#mediaState = state;
          this.emit("media", state);
        },
        sources: (sources) => {
          this.#announced = sources;
          this.#releaseStreams();
          this.#updateRemotePublications();
          this.emit("sources", { sources });
        },
        chat: (message) => this.emit("chat", message),
        renegotiationRequest: (request) => this.#onRenegotiationRequest(request),
        videoHint: ({ source, maxWidth, maxHeight }) => this.emit("video-hint", { source, hint: { maxWidth, maxHeight } }),
        unreadable: () => this.#report("bad_peer_message", `unreadable data-channel message from ${this.id}`),
      },
      this.id,
    );
    this.#peer = this.#createConnection();
  }

  /** Lifecycle state of the connection. */
  get state(): PeerState {
    return this.#state;
  }

  /** True while ICE is up and the data channel open. */
  get isConnected(): boolean {
    return this.#state === PeerState.connected;
  }

  /** True while the pair is down: `failed` (until rebuilt) or `closed`. */
  get closed(): boolean {
    return this.#state === PeerState.failed || this.#state === PeerState.closed;
  }

  /** The remote's media stream on the current connection, once one arrived. */
  get stream(): MediaStream | undefined {
    return this.#stream;
  }

  /** The remote's published streams by source, on the current connection. */
  get streamsBySource(): ReadonlyMap<TrackSource, MediaStream> {
    return new Map([...this.#remotePublications].map(([source, { stream }]) => [source, stream]));
  }

  /** The remote's track of `source`, while it publishes one. */
  trackBySource(source: TrackSource): MediaStreamTrack | undefined {
    return this.#remotePublications.get(source)?.track;
  }

  /** The remote's last announced media state, if it announced one. */
  get mediaState(): MediaState | undefined {
    return this.#mediaState;
  }

  /** Since when the remote shares its screen (its clock, epoch ms), while it announces one. */
  get screenSinceMs(): number | undefined {
    return this.#announced?.find((entry) => entry.source === "screen")?.sinceMs;
  }

  /** The current `RTCPeerConnection`; `undefined` once closed. */
  get peerConnection(): RTCPeerConnection | undefined {
    return this.#peer._pc ?? undefined;
  }

  /** How many times the pair was rebuilt. */
  get rebuilds(): number {
    return this.#rebuilds;
  }

  /**
   * What an offer from the remote means for this (answering) side. A new `RTCPeerConnection` on the
   * offering side has a new `o=` session id, a renegotiation keeps it:
   * - `first`: no offer applied on the current connection yet;
   * - `renegotiation`: same session as the current connection;
   * - `new`: the offering side rebuilt the pair; this side must rebuild before applying it;
   * - `stale`: from a connection this side already replaced; to be ignored.
   */
  classifyOffer(offer: string): OfferKind {
    const sessionId = sdpSessionId(offer);
    if (sessionId !== undefined && this.#staleSessionIds.has(sessionId)) {
      return "stale";
    }
    if (this.#remoteSessionId === undefined) {
      return "first";
    }
    return sessionId === undefined || sessionId === this.#remoteSessionId ? "renegotiation" : "new";
  }

  /** Feeds a negotiation step from the remote. Out-of-role descriptions are reported, not applied. */
  signal(signal: PeerSignal): void {
    if (this.closed) {
      return;
    }
    switch (signal.kind) {
      case "offer":
      case "answer": {
        // Only the offering side offers, so an offer to it (or an answer to the other side)
        // means the remote broke the protocol; applying it would wedge the negotiation.
        if (signal.kind !== (this.initiator ? "answer" : "offer")) {
          this.#report("bad_peer_message", `unexpected ${signal.kind} from ${this.id} (initiator: ${this.initiator})`);
          return;
        }
        this.#remoteSessionId = sdpSessionId(signal.sdp) ?? this.#remoteSessionId;
        // An ICE restart replaces the ufrags; candidates of the old ones may still be in flight.
        const ufrags = new Set(sdpIceUfrags(signal.sdp));
        for (const ufrag of this.#remoteUfrags) {
          if (!ufrags.has(ufrag)) {
            this.#staleUfrags.add(ufrag);
          }
        }
        this.#remoteUfrags = ufrags;
        this.#peer.signal({ type: signal.kind, sdp: signal.sdp });
        return;
      }
      case "candidate": {
        // A candidate of a connection the remote has replaced would make libwebrtc refuse it and
        // simple-peer destroy the new connection; drop it.
        const ufrag = candidateUfrag(signal.candidate);
        if (ufrag !== undefined && this.#staleUfrags.has(ufrag)) {
          return;
        }
        // simple-peer hands this object to `new RTCIceCandidate(init)`; the typings ask for the
        // class, but the init dictionary is what it needs.
        this.#peer.signal({ type: "candidate", candidate: signal.candidate as RTCIceCandidate });
        return;
      }
    }
  }

  /**
   * Sends an application payload (any JSON value) over the data channel. Returns false when the
   * peer is not connected. Throws a `RangeError` above `MESH_CHANNEL_MAX_BYTES` (16 KiB).
   */
  send(data: unknown): boolean {
    return this.#channel.send({ type: "data", data });
  }

  /** Announces this side's media state to the remote. Returns false when not connected. */
  sendMediaState(state: MediaState): boolean {
    return this.#channel.send({ type: "media", audio: state.audio, video: state.video });
  }

  /**
   * Asks the remote to send this side's view of its `source` video at most `hint` large (a small
   * tile needs less). Kept and sent again on every new connection; returns false when it could not
   * be sent now (it goes out on connect).
   */
  sendVideoHint(source: VideoSource, hint: VideoHint): boolean {
    this.#videoHints.set(source, { maxWidth: hint.maxWidth, maxHeight: hint.maxHeight });
    return this.#channel.send({ type: "video_hint", source, maxWidth: hint.maxWidth, maxHeight: hint.maxHeight });
  }

  /** The video sources this side sends on the current connection, with their tracks. */
  videoSenders(): Array<{ source: VideoSource; track: MediaStreamTrack | null }> {
    return [...this.#senders]
      .filter((entry): entry is [VideoSource, RTCRtpSender] => isVideoSource(entry[0]))
      .map(([source, sender]) => ({ source, track: sender.track }));
  }

  /**
   * Sets the encoding of `source` on the current connection (`maxBitrate`,
   * `scaleResolutionDownBy`, `maxFramerate` of `encodings[0]`). Does nothing when the sender
   * already has exactly these; see {@link VideoFitOutcome}.
   */
  async applyVideoFit(source: VideoSource, encoding: VideoEncodingFit): Promise<VideoFitOutcome> {
    const sender = this.#senders.get(source);
    if (!sender || this.closed) {
      return "no_sender";
    }
    const applied = this.#appliedFits.get(source);
    if (applied && sameEncoding(applied, encoding)) {
      return "unchanged";
    }
    // getParameters() and setParameters() in one task: the transaction id is only valid until then.
    const parameters = sender.getParameters();
    const [first] = parameters.encodings;
    if (!first) {
      return "refused";
    }
    first.maxBitrate = encoding.maxBitrate;
    first.scaleResolutionDownBy = encoding.scaleResolutionDownBy;
    if (encoding.maxFramerate === undefined) {
      delete first.maxFramerate;
    } else {
      first.maxFramerate = encoding.maxFramerate;
    }
    try {
      await sender.setParameters(parameters);
    } catch {
      return "refused";
    }
    if (this.#senders.get(source) !== sender) {
      return "no_sender";
    }
    this.#appliedFits.set(source, { ...encoding });
    return "applied";
  }

  /** Sends a chat message now, or once the channel opens (after a rebuild too); see `DataChannelRouter.sendChat`. */
  sendChat(message: ChatChannelMessage): void {
    this.#channel.sendChat(message);
  }

  /** Measures one data-channel round trip, in milliseconds. Rejects when not connected, on timeout or on close. */
  ping(timeoutMs: number = PING_TIMEOUT_MS): Promise<number> {
    return this.#channel.ping(timeoutMs);
  }

  /**
   * Sends a newly published track on the current connection: announces the sources first (the
   * data channel is ordered, so the remote knows the stream id before the answering side's
   * `renegotiate` request, and in practice before the offering side's offer relayed by the
   * server), then adds the track and negotiates. A connection built later adds it by itself.
   */
  addPublication(publication: LocalPublication): void {
    const pc = this.peerConnection;
    if (!pc || this.closed || this.#senders.has(publication.source)) {
      return;
    }
    const reserved = this.#reservedSenders.get(publication.source);
    if (reserved) {
      this.#fillReservedSender(publication, reserved);
      return;
    }
    this.#announceSources();
    try {
      this.#senders.set(publication.source, pc.addTrack(publication.track, publication.stream));
    } catch (error) {
      this.#report("peer_failed", `ERR_ADD_TRACK: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.#peer.negotiate();
  }

  /** Stops sending an unpublished track on the current connection: announce, remove, negotiate. */
  removePublication(publication: LocalPublication): void {
    const pc = this.peerConnection;
    const sender = this.#senders.get(publication.source);
    this.#senders.delete(publication.source);
    if (isVideoSource(publication.source)) {
      this.#appliedFits.delete(publication.source);
    }
    if (!pc || !sender || this.closed) {
      return;
    }
    this.#announceSources();
    try {
      pc.removeTrack(sender);
    } catch (error) {
      this.#report("peer_failed", `ERR_REMOVE_TRACK: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.#peer.negotiate();
  }

  /** Puts the publication's new track on the existing sender: no renegotiation, same connection. */
  async replacePublicationTrack(publication: LocalPublication): Promise<void> {
    await this.#senders.get(publication.source)?.replaceTrack(publication.track);
  }

  /**
   * Replaces the ICE servers (fresh TURN credentials): applied to the current connection at once,
   * so that an ICE restart allocates with them, and used by every rebuilt connection.
   */
  setIceServers(iceServers: IceServer[]): void {
    this.#iceServers = iceServers;
    const pc = this.peerConnection;
    if (!pc || this.#state === PeerState.closed) {
      return;
    }
    try {
      pc.setConfiguration({ ...pc.getConfiguration(), iceServers });
    } catch (error) {
      // A connection that is closing refuses; the next rebuild uses the new servers anyway.
      this.#report("peer_failed", `ERR_SET_CONFIGURATION: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * Restarts ICE on the current connection (new candidates, new TURN allocations with the current
   * ICE servers). Only the offering side can; returns false on the answering side or when not
   * connected.
   */
  restartIce(): boolean {
    const pc = this.peerConnection;
    if (!this.initiator || !pc || this.closed) {
      return false;
    }
    pc.restartIce();
    this.#peer.negotiate();
    return true;
  }

  /**
   * Puts a new connection behind this peer, with the same role: the offering side offers again at
   * once, the answering side waits for the remote's new offer. The old connection is closed.
   * Does nothing once `closed`.
   */
  rebuild(): void {
    if (this.#state === PeerState.closed) {
      return;
    }
    const old = this.#peer;
    this.#teardown("the connection is being rebuilt");
    for (const ufrag of this.#remoteUfrags) {
      this.#staleUfrags.add(ufrag);
    }
    this.#remoteUfrags = new Set();
    if (this.#remoteSessionId !== undefined) {
      this.#staleSessionIds.add(this.#remoteSessionId);
    }
    this.#remoteSessionId = undefined;
    this.#localSdp = undefined;
    this.#stream = undefined;
    // The old connection's tracks end with it; the new one brings new ones (and a new announcement).
    this.#received = [];
    this.#announced = undefined;
    this.#heldStreams = [];
    this.#updateRemotePublications();
    this.#rebuilds += 1;
    this.#peer = this.#createConnection();
    old.destroy();
    this.#setState(PeerState.connecting);
  }

  /**
   * Fails the connection on purpose, as a real failure would (for tests and for a user's "this
   * connection is stuck" button): closes the `RTCPeerConnection`, reports `peer_failed` and moves
   * to `failed`, after which the session rebuilds the pair.
   */
  fail(reason = "forced failure"): void {
    this.#fail("ERR_FORCED", reason);
  }

  /** Closes the connection. Safe to call twice; emits `state` → `closed` unless already closed. */
  destroy(): void {
    if (this.#state === PeerState.closed) {
      return;
    }
    this.#setState(PeerState.closed);
    this.#teardown("peer closed");
    this.#peer.destroy();
    this.removeAllListeners();
  }

  #createConnection(): SimplePeerInstance {
    const publications = this.#options.publications;
    const stream = publications ? undefined : this.#options.stream;
    const peer = new SimplePeer({
      initiator: this.initiator,
      trickle: true,
      config: { ...this.#options.rtcConfiguration, iceServers: this.#iceServers },
      // Strings stay strings: every data-channel message is JSON text.
      objectMode: true,
      ...(this.#options.offerOptions ? { offerOptions: this.#options.offerOptions } : {}),
      ...(stream ? { stream } : {}),
      ...(this.#options.wrtc ? { wrtc: this.#options.wrtc } : {}),
    }) as SimplePeerInstance;
    // Every handler checks that its connection is still the current one: a replaced connection
    // keeps emitting while simple-peer tears it down.
    const current = (): boolean => peer === this.#peer && this.#state !== PeerState.closed;
    const onSignal = (data: SimplePeer.SignalData): void => {
      if (current()) {
        this.#onSignal(data);
      }
    };
    const onConnect = (): void => {
      if (current()) {
        this.#onConnect();
      }
    };
    const onData = (chunk: unknown): void => {
      if (current()) {
        this.#channel.receive(chunk);
      }
    };
    const onStream = (stream: MediaStream): void => {
      if (current()) {
        this.#heldStreams.push(stream);
        this.#releaseStreams();
      }
    };
    const onTrack = (track: MediaStreamTrack, stream: MediaStream): void => {
      if (current()) {
        this.#received.push({ track, stream });
        this.#updateRemotePublications();
      }
    };
    const onIceState = (iceConnectionState: string): void => {
      if (current()) {
        this.#onIceState(iceConnectionState);
      }
    };
    const onError = (error: Error & { code?: string }): void => {
      if (current() && this.#state !== PeerState.failed) {
        this.#fail(error.code ?? "ERR_UNKNOWN", error.message);
      }
    };
    /** simple-peer's last event: its `RTCPeerConnection` is closed. */
    const onClose = (): void => {
      for (const [event, listener] of Object.entries(listeners)) {
        peer.off(event, listener);
      }
      if (current() && this.#state !== PeerState.failed) {
        // The remote closed its side (its data channel closed first): it left, or it gave up on
        // this connection. Either the server removes it or the pair is rebuilt.
        this.#clearTimers();
        this.#setState(PeerState.failed);
        this.#teardown("remote closed the connection");
      }
    };
    const listeners: Record<string, SimplePeerListener> = {
      signal: onSignal,
      connect: onConnect,
      data: onData,
      stream: onStream,
      track: onTrack,
      iceStateChange: onIceState,
      error: onError,
      close: onClose,
    };
    for (const [event, listener] of Object.entries(listeners)) {
      peer.on(event, listener);
    }
    // Only the offering side bounds the attempt: it is the one that can start a new one; the
    // answering side just waits for the next offer.
    const connectTimeoutMs = this.#options.connectTimeoutMs ?? PEER_CONNECT_TIMEOUT_MS;
    if (this.initiator && connectTimeoutMs > 0) {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = setTimeout(() => {
        if (peer === this.#peer && this.#state === PeerState.connecting) {
          this.#fail("ERR_CONNECT_TIMEOUT", `not connected within ${connectTimeoutMs} ms`);
        }
      }, connectTimeoutMs);
    }
    // What is published now goes into the first offer (simple-peer negotiates in a microtask); on
    // the answering side simple-peer asks for the m-lines the remote's offer lacks.
    this.#senders.clear();
    this.#reservedSenders.clear();
    this.#appliedFits.clear();
    if (peer._pc && this.#options.wrtc) {
      peer._pc = withStableDescriptions(peer._pc);
    }
    const pc = peer._pc;
    if (pc && this.#options.receiveMedia === false) {
      negotiateSendOnly(pc);
    }
    if (pc) {
      for (const publication of publications?.list() ?? []) {
        this.#senders.set(publication.source, pc.addTrack(publication.track, publication.stream));
      }
      if (publications) {
        this.#reserveUserSenders(pc, publications);
      }
    }
    return peer;
  }

  /**
   * Adds a transceiver, with the "user" stream and no track, for every user source not published
   * yet (see {@link PeerLinkOptions.reserveUserMedia}). Only on the offering side, whose offer
   * creates the sections; not for a viewer (it may publish nothing) nor a publish-only link (its
   * empty sections would be `inactive`, and a track put there later would not flow).
   */
  #reserveUserSenders(pc: RTCPeerConnection, publications: LocalPublications): void {
    const options = this.#options;
    if (!options.reserveUserMedia || !this.initiator || !publications.allowed || options.receiveMedia === false) {
      return;
    }
    for (const source of RESERVED_USER_SOURCES) {
      if (this.#senders.has(source)) {
        continue;
      }
      try {
        const transceiver = pc.addTransceiver(TRACK_SOURCE_KIND[source], { direction: "sendrecv", streams: [publications.streamFor(source)] });
        this.#reservedSenders.set(source, transceiver.sender);
      } catch (error) {
        // Without the reservation the source is added with `addTrack` and a renegotiation, as before.
        this.#report("peer_failed", `ERR_ADD_TRANSCEIVER: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
    }
  }

  /**
   * Sends a publication on the sender reserved for its source: announce, then `replaceTrack`. The
   * section was negotiated with the user stream's id already, so nothing is negotiated again.
   */
  #fillReservedSender(publication: LocalPublication, sender: RTCRtpSender): void {
    this.#reservedSenders.delete(publication.source);
    this.#senders.set(publication.source, sender);
    this.#announceSources();
    sender.replaceTrack(publication.track).catch((error: unknown) => {
      if (this.#senders.get(publication.source) === sender) {
        this.#report("peer_failed", `ERR_REPLACE_TRACK: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }

  #onSignal(data: SimplePeer.SignalData): void {
    switch (data.type) {
      case "offer":
      case "answer":
        this.#localSdp = data.sdp;
        this.emit("signal", { kind: data.type, sdp: data.sdp ?? "" });
        return;
      case "candidate": {
        const { candidate, sdpMid, sdpMLineIndex } = data.candidate;
        // simple-peer passes on only `candidate`, `sdpMid` and `sdpMLineIndex`; the fragment is in
        // the candidate line (Chromium, libwebrtc) or in the description it was gathered for,
        // which this side signaled before its candidates.
        const localSdp = this.#localSdp;
        const usernameFragment =
          data.candidate.usernameFragment ??
          candidateUfrag({ candidate }) ??
          (localSdp !== undefined && typeof sdpMLineIndex === "number" ? sdpSectionUfrag(localSdp, sdpMLineIndex) : undefined);
        const ice: IceCandidate = { candidate, sdpMid, sdpMLineIndex, ...(usernameFragment ? { usernameFragment } : {}) };
        if (!this.#candidateFilter || this.#candidateFilter(ice)) {
          this.emit("signal", { kind: "candidate", candidate: ice });
        }
        return;
      }
      // The answering side asks the offering side to negotiate again. These go peer to peer:
      // the owner's server messages carry only offers, answers and candidates.
      case "renegotiate":
        this.#channel.sendWhenOpen({ type: "renegotiate" });
        return;
      case "transceiverRequest": {
        const kind = data.transceiverRequest.kind;
        if (kind === "audio" || kind === "video") {
          this.#channel.sendWhenOpen({ type: "transceiver_request", kind });
        }
        return;
      }
      case "pranswer":
      case "rollback":
        // simple-peer never produces these.
        return;
    }
  }

  #onConnect(): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    // Sources first: the remote holds streams back until it knows which is which. The channel is
    // open before `state` listeners run, so that what they send (media state) goes out.
    this.#channel.open(this.#sourcesMessage());
    for (const [source, hint] of this.#videoHints) {
      this.#channel.send({ type: "video_hint", source, maxWidth: hint.maxWidth, maxHeight: hint.maxHeight });
    }
    this.#setState(PeerState.connected);
  }

  #onIceState(iceConnectionState: string): void {
    if (iceConnectionState !== "disconnected") {
      clearTimeout(this.#disconnectedTimer);
      this.#disconnectedTimer = undefined;
      return;
    }
    if (this.#disconnectedTimer !== undefined) {
      return;
    }
    const timeoutMs = this.#options.disconnectedTimeoutMs ?? ICE_DISCONNECTED_TIMEOUT_MS;
    this.#disconnectedTimer = setTimeout(() => {
      this.#disconnectedTimer = undefined;
      if (this.peerConnection?.iceConnectionState === "disconnected" && !this.closed) {
        this.#fail("ERR_ICE_DISCONNECTED", `ICE disconnected for more than ${timeoutMs} ms`);
      }
    }, timeoutMs);
  }

  /** The remote (answering side) asks for a new offer; only the offering side may act on it. */
  #onRenegotiationRequest(request: RenegotiationRequest): void {
    if (!this.initiator) {
      this.#report("bad_peer_message", `${request.type} sent to the answering side by ${this.id}`);
      return;
    }
    this.#peer.signal(
      request.type === "renegotiate"
        ? { type: "renegotiate", renegotiate: true }
        : { type: "transceiverRequest", transceiverRequest: { kind: request.kind } },
    );
  }

  /** Tells the remote what this side publishes now (everything, replacing the last announcement). */
  #announceSources(): void {
    this.#channel.send(this.#sourcesMessage());
  }

  #sourcesMessage(): { type: "sources"; sources: SourceAnnouncement[] } {
    const { publications, stream } = this.#options;
    const sources: SourceAnnouncement[] = publications
      ? publications.announcement()
      : (stream?.getTracks() ?? []).map((track) => ({ source: track.kind === "audio" ? "microphone" : "camera", streamId: stream?.id ?? "" }));
    return { type: "sources", sources };
  }

  /**
   * Emits `stream` for held streams that the announcement names as camera/microphone. A stream
   * announced as a screen stays out of `stream` (it is a `publication` only); one not announced
   * yet waits for the next announcement.
   */
  #releaseStreams(): void {
    const announced = this.#announced;
    if (!announced) {
      return;
    }
    this.#heldStreams = this.#heldStreams.filter((stream) => {
      const sources = announced.filter((entry) => entry.streamId === stream.id).map((entry) => TRACK_SOURCE_GROUP[entry.source]);
      if (sources.length === 0) {
        return true;
      }
      if (sources.includes("user")) {
        this.#stream = stream;
        this.emit("stream", stream);
      }
      return false;
    });
  }

  /** Matches received tracks to announced sources and emits what appeared or disappeared. */
  #updateRemotePublications(): void {
    const next = matchRemotePublications(this.#announced ?? [], this.#received);
    const { disappeared, appeared } = diffPublications(this.#remotePublications, next);
    this.#remotePublications = next;
    for (const source of disappeared) {
      this.emit("unpublication", { source });
    }
    for (const source of appeared) {
      const entry = next.get(source);
      if (entry) {
        this.emit("publication", { source, track: entry.track, stream: entry.stream });
      }
    }
  }

  /** The current connection failed: report, move to `failed`, close it. */
  #fail(code: string, message: string): void {
    if (this.closed) {
      return;
    }
    this.#report("peer_failed", `${code}: ${message}`);
    this.#setState(PeerState.failed);
    this.#teardown(`peer failed: ${message}`);
    // simple-peer closes the RTCPeerConnection (it already has, after its own errors).
    this.#peer.destroy();
  }

  #clearTimers(): void {
    clearTimeout(this.#disconnectedTimer);
    this.#disconnectedTimer = undefined;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
  }

  /** Settles everything in flight on the current connection. */
  #teardown(reason: string): void {
    this.#clearTimers();
    this.#channel.close(reason);
  }

  #report(code: PeerErrorCode, message: string): void {
    this.emit("error", { code, message });
  }

  #setState(state: PeerState): void {
    const previous = this.#state;
    if (previous === state) {
      return;
    }
    this.#state = state;
    this.emit("state", { state, previous });
  }
}

/** The former name of {@link PeerLink}, from when only rooms had links. */
export const MeshPeer = PeerLink;
/** The former name of {@link PeerLink}. */
export type MeshPeer = PeerLink;
