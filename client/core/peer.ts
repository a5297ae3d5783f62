/**
 * One remote participant of a mesh room: one simple-peer instance, hence one `RTCPeerConnection`
 * and one data channel.
 *
 * The peer turns simple-peer's `signal` output into the protocol's negotiation messages (which
 * the session addresses and sends through the server) and multiplexes the pair's data channel:
 * application payloads, media state, round-trip probes, and the renegotiation requests of the
 * answering side, which the signaling protocol has no message for.
 */
import SimplePeer from "simple-peer";
import type { IceCandidate, IceServer, RoomServerMessage } from "../../shared/protocol/index.ts";
import {
  MESH_CHANNEL_MAX_BYTES,
  decodeMeshChannelMessage,
  type MediaState,
  type MeshChannelMessage,
} from "../../shared/protocol/mesh.ts";
import { TypedEmitter, type ListenerErrorHandler } from "./emitter.ts";

/** A WebRTC implementation to use instead of the browser's, e.g. `@roamhq/wrtc` in Node. */
export type WebRtcImplementation = NonNullable<SimplePeer.Options["wrtc"]>;

/** Lifecycle of one peer connection. `failed` and `closed` are final. */
export const PeerState = {
  /** Offer, answer and ICE checks in progress. */
  connecting: "connecting",
  /** ICE connected and the data channel open. */
  connected: "connected",
  /** The connection broke (ICE failure, data-channel error); the remote may still be in the room. */
  failed: "failed",
  /** Closed by this side, or by the remote closing its connection. */
  closed: "closed",
} as const;

/** A value of {@link PeerState}. */
export type PeerState = (typeof PeerState)[keyof typeof PeerState];

/** A negotiation message for the server to relay to this peer's remote (`targetId` is added by the session). */
export type OutgoingSignal =
  | { type: "send_offer"; sdp: { type: "offer"; sdp: string } }
  | { type: "send_aswer"; sdp: { type: "answer"; sdp: string } }
  | { type: "new_candidate"; ice: IceCandidate };

/** A negotiation message the server relayed from this peer's remote. */
export type IncomingSignal = Extract<RoomServerMessage, { type: "send_offer" | "send_aswer" | "new_candidate" }>;

/** Codes of the errors a peer reports. */
export type PeerErrorCode =
  /** The connection failed; `message` carries simple-peer's code (`ERR_ICE_CONNECTION_FAILURE`…). */
  | "peer_failed"
  /** The remote sent something this build does not understand, or out of its role. */
  | "bad_peer_message";

/** Events of a {@link MeshPeer}. */
export type PeerEvents = {
  state: { state: PeerState; previous: PeerState };
  signal: OutgoingSignal;
  /** A remote media stream arrived (once per stream). */
  stream: MediaStream;
  /** An application payload sent with the remote's `send()`. */
  data: unknown;
  /** The remote announced its media state. */
  media: MediaState;
  error: { code: PeerErrorCode; message: string };
};

/** What the rest of the application may read about a remote peer. */
export interface RemotePeer {
  /** Server-assigned participant id of the remote. */
  readonly id: string;
  readonly username: string;
  /** True when this side sends the offers (it joined after the remote). */
  readonly initiator: boolean;
  readonly state: PeerState;
  readonly isConnected: boolean;
  /** The remote's media stream, once one arrived. */
  readonly stream: MediaStream | undefined;
  /** The remote's last announced media state, if it announced one. */
  readonly mediaState: MediaState | undefined;
}

/** Options of a {@link MeshPeer}. */
export interface MeshPeerOptions {
  id: string;
  username: string;
  initiator: boolean;
  iceServers: IceServer[];
  /** Local media to send to this remote. */
  stream?: MediaStream;
  wrtc?: WebRtcImplementation;
  /** Local ICE candidates for which this returns false are not sent to the remote. */
  candidateFilter?: CandidateFilter;
  onListenerError?: ListenerErrorHandler;
}

/** Decides whether a local ICE candidate is worth sending to the remote. */
export type CandidateFilter = (ice: IceCandidate) => boolean;

/** Default bound on one {@link MeshPeer.ping} round trip. */
export const PING_TIMEOUT_MS = 5_000;

interface PendingPing {
  sentAtMs: number;
  resolve: (rttMs: number) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

const utf8 = new TextEncoder();

/** One remote participant: its `RTCPeerConnection` (through simple-peer) and data channel. */
export class MeshPeer extends TypedEmitter<PeerEvents> implements RemotePeer {
  readonly id: string;
  readonly username: string;
  readonly initiator: boolean;
  readonly #peer: SimplePeer.Instance;
  readonly #candidateFilter: CandidateFilter | undefined;
  #state: PeerState = PeerState.connecting;
  #stream: MediaStream | undefined;
  #mediaState: MediaState | undefined;
  /** Internal messages produced before the data channel opened; flushed on connect. */
  #queued: MeshChannelMessage[] = [];
  readonly #pings = new Map<number, PendingPing>();
  #nextPingSeq = 0;

  constructor(options: MeshPeerOptions) {
    super(options.onListenerError);
    this.id = options.id;
    this.username = options.username;
    this.initiator = options.initiator;
    this.#candidateFilter = options.candidateFilter;
    this.#peer = new SimplePeer({
      initiator: options.initiator,
      trickle: true,
      config: { iceServers: options.iceServers },
      // Strings stay strings: every data-channel message is JSON text.
      objectMode: true,
      ...(options.stream ? { stream: options.stream } : {}),
      ...(options.wrtc ? { wrtc: options.wrtc } : {}),
    });
    this.#peer.on("signal", this.#onSignal);
    this.#peer.on("connect", this.#onConnect);
    this.#peer.on("data", this.#onData);
    this.#peer.on("stream", this.#onStream);
    this.#peer.on("error", this.#onError);
    this.#peer.on("close", this.#onClose);
  }

  /** Lifecycle state of the connection. */
  get state(): PeerState {
    return this.#state;
  }

  /** True while ICE is up and the data channel open. */
  get isConnected(): boolean {
    return this.#state === PeerState.connected;
  }

  /** True once the peer is `failed` or `closed`. */
  get closed(): boolean {
    return this.#state === PeerState.failed || this.#state === PeerState.closed;
  }

  /** The remote's media stream, once one arrived. */
  get stream(): MediaStream | undefined {
    return this.#stream;
  }

  /** The remote's last announced media state, if it announced one. */
  get mediaState(): MediaState | undefined {
    return this.#mediaState;
  }

  /** Feeds a negotiation message relayed from the remote. Out-of-role messages are reported, not applied. */
  signal(message: IncomingSignal): void {
    if (this.closed) {
      return;
    }
    switch (message.type) {
      case "send_offer":
      case "send_aswer": {
        // The newcomer always offers, so an offer to the initiator (or an answer to the other
        // side) means the remote broke the protocol; applying it would wedge the negotiation.
        const expected = this.initiator ? "send_aswer" : "send_offer";
        if (message.type !== expected || message.sdp.type !== (this.initiator ? "answer" : "offer")) {
          this.#report("bad_peer_message", `unexpected ${message.type} from ${this.id} (initiator: ${this.initiator})`);
          return;
        }
        this.#peer.signal({ type: message.sdp.type, sdp: message.sdp.sdp });
        return;
      }
      case "new_candidate":
        // simple-peer hands this object to `new RTCIceCandidate(init)`; the typings ask for the
        // class, but the init dictionary is what it needs.
        this.#peer.signal({ type: "candidate", candidate: message.ice as RTCIceCandidate });
        return;
    }
  }

  /**
   * Sends an application payload (any JSON value) over the data channel. Returns false when the
   * peer is not connected. Throws a `RangeError` above {@link MESH_CHANNEL_MAX_BYTES}.
   */
  send(data: unknown): boolean {
    return this.#sendOnChannel({ type: "data", data });
  }

  /** Announces this side's media state to the remote. Returns false when not connected. */
  sendMediaState(state: MediaState): boolean {
    return this.#sendOnChannel({ type: "media", audio: state.audio, video: state.video });
  }

  /** Measures one data-channel round trip, in milliseconds. Rejects when not connected, on timeout or on close. */
  ping(timeoutMs: number = PING_TIMEOUT_MS): Promise<number> {
    if (!this.isConnected) {
      return Promise.reject(new Error(`peer ${this.id} is not connected`));
    }
    const seq = this.#nextPingSeq++;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pings.delete(seq);
        reject(new Error(`ping to ${this.id} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pings.set(seq, { sentAtMs: performance.now(), resolve, reject, timer });
      this.#sendOnChannel({ type: "ping", seq });
    });
  }

  /** Closes the connection. Safe to call twice; emits `state` → `closed` unless already final. */
  destroy(): void {
    if (this.closed) {
      return;
    }
    this.#setState(PeerState.closed);
    this.#teardown("peer closed");
    this.#peer.destroy();
  }

  #sendOnChannel(message: MeshChannelMessage): boolean {
    if (!this.isConnected) {
      return false;
    }
    const text = JSON.stringify(message);
    const bytes = utf8.encode(text).byteLength;
    if (bytes > MESH_CHANNEL_MAX_BYTES) {
      throw new RangeError(`data-channel message of ${bytes} bytes exceeds ${MESH_CHANNEL_MAX_BYTES}`);
    }
    this.#peer.send(text);
    return true;
  }

  /** Sends an internal message now, or once the channel opens. */
  #sendWhenOpen(message: MeshChannelMessage): void {
    if (!this.#sendOnChannel(message)) {
      this.#queued.push(message);
    }
  }

  readonly #onSignal = (data: SimplePeer.SignalData): void => {
    switch (data.type) {
      case "offer":
        this.emit("signal", { type: "send_offer", sdp: { type: "offer", sdp: data.sdp ?? "" } });
        return;
      case "answer":
        this.emit("signal", { type: "send_aswer", sdp: { type: "answer", sdp: data.sdp ?? "" } });
        return;
      case "candidate": {
        const { candidate, sdpMid, sdpMLineIndex } = data.candidate;
        const ice: IceCandidate = { candidate, sdpMid, sdpMLineIndex };
        if (!this.#candidateFilter || this.#candidateFilter(ice)) {
          this.emit("signal", { type: "new_candidate", ice });
        }
        return;
      }
      // The answering side asks the offering side to negotiate again. These go peer to peer:
      // the server relays only offers, answers and candidates.
      case "renegotiate":
        this.#sendWhenOpen({ type: "renegotiate" });
        return;
      case "transceiverRequest": {
        const kind = data.transceiverRequest.kind;
        if (kind === "audio" || kind === "video") {
          this.#sendWhenOpen({ type: "transceiver_request", kind });
        }
        return;
      }
      case "pranswer":
      case "rollback":
        // simple-peer never produces these.
        return;
    }
  };

  readonly #onConnect = (): void => {
    if (this.closed) {
      return;
    }
    this.#setState(PeerState.connected);
    const queued = this.#queued;
    this.#queued = [];
    for (const message of queued) {
      this.#sendOnChannel(message);
    }
  };

  readonly #onData = (chunk: unknown): void => {
    const message = typeof chunk === "string" ? decodeMeshChannelMessage(chunk) : undefined;
    if (!message) {
      this.#report("bad_peer_message", `unreadable data-channel message from ${this.id}`);
      return;
    }
    switch (message.type) {
      case "data":
        this.emit("data", message.data);
        return;
      case "media":
        this.#mediaState = { audio: message.audio, video: message.video };
        this.emit("media", this.#mediaState);
        return;
      case "ping":
        this.#sendOnChannel({ type: "pong", seq: message.seq });
        return;
      case "pong": {
        const pending = this.#pings.get(message.seq);
        if (pending) {
          this.#pings.delete(message.seq);
          clearTimeout(pending.timer);
          pending.resolve(performance.now() - pending.sentAtMs);
        }
        return;
      }
      case "renegotiate":
      case "transceiver_request":
        if (!this.initiator) {
          this.#report("bad_peer_message", `${message.type} sent to the answering side by ${this.id}`);
          return;
        }
        this.#peer.signal(
          message.type === "renegotiate"
            ? { type: "renegotiate", renegotiate: true }
            : { type: "transceiverRequest", transceiverRequest: { kind: message.kind } },
        );
        return;
    }
  };

  readonly #onStream = (stream: MediaStream): void => {
    this.#stream = stream;
    this.emit("stream", stream);
  };

  readonly #onError = (error: Error & { code?: string }): void => {
    if (this.closed) {
      return;
    }
    this.#report("peer_failed", `${error.code ?? "ERR_UNKNOWN"}: ${error.message}`);
    this.#setState(PeerState.failed);
    this.#teardown(`peer failed: ${error.message}`);
  };

  /** simple-peer's last event: its `RTCPeerConnection` is closed. */
  readonly #onClose = (): void => {
    this.#peer.off("signal", this.#onSignal);
    this.#peer.off("connect", this.#onConnect);
    this.#peer.off("data", this.#onData);
    this.#peer.off("stream", this.#onStream);
    this.#peer.off("error", this.#onError);
    this.#peer.off("close", this.#onClose);
    if (!this.closed) {
      // The remote closed its side (its data channel closed first).
      this.#setState(PeerState.closed);
      this.#teardown("remote closed the connection");
    }
    this.removeAllListeners();
  };

  /** Settles everything in flight; the caller has already moved to a final state. */
  #teardown(reason: string): void {
    this.#queued = [];
    for (const pending of this.#pings.values()) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`ping to ${this.id} abandoned: ${reason}`));
    }
    this.#pings.clear();
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
