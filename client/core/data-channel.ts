/**
 * The data channel of one peer link: its codec (one JSON text message per `MeshChannelMessage`,
 * bounded to {@link MESH_CHANNEL_MAX_BYTES}) and its router, which answers round-trip probes by
 * itself and hands every other message to the link that owns the channel.
 *
 * The router does not touch the channel: the link gives it a function that sends one text
 * message, tells it when the channel opens ({@link DataChannelRouter.open}) and when the
 * connection under it goes away ({@link DataChannelRouter.close}), and feeds it what arrives
 * ({@link DataChannelRouter.receive}). Rooms and calls use the same router through the link.
 */
import {
  MESH_CHANNEL_MAX_BYTES,
  type ChatChannelMessage,
  decodeMeshChannelMessage,
  type MediaState,
  type MeshChannelMessage,
  type SourceAnnouncement,
} from "../../shared/protocol/mesh.ts";

/**
 * Chat messages one pair holds while its channel is down (before it first opens, or while the
 * connection is rebuilt); past it the oldest is dropped.
 */
export const CHAT_OUTBOX_MAX_MESSAGES = 100;

/** Default bound on one {@link DataChannelRouter.ping} round trip. */
export const PING_TIMEOUT_MS = 5_000;

const utf8 = new TextEncoder();

/**
 * Encodes one data-channel message as JSON text. Throws a `RangeError` when the text is larger
 * than {@link MESH_CHANNEL_MAX_BYTES} in UTF-8.
 */
export function encodeChannelMessage(message: MeshChannelMessage): string {
  const text = JSON.stringify(message);
  const bytes = utf8.encode(text).byteLength;
  if (bytes > MESH_CHANNEL_MAX_BYTES) {
    throw new RangeError(`data-channel message of ${bytes} bytes exceeds ${MESH_CHANNEL_MAX_BYTES}`);
  }
  return text;
}

/**
 * Decodes what the channel delivered. Never throws: anything but a known message in a string
 * comes back as `undefined` (the remote may run another build).
 */
export function decodeChannelMessage(chunk: unknown): MeshChannelMessage | undefined {
  return typeof chunk === "string" ? decodeMeshChannelMessage(chunk) : undefined;
}

/** A request of the answering side for a new negotiation, which only the offering side can start. */
export type RenegotiationRequest = Extract<MeshChannelMessage, { type: "renegotiate" | "transceiver_request" }>;

/** What the router hands to the link: every message it does not answer itself. */
export interface DataChannelHandlers {
  /** An application payload sent with the remote's `send()`. */
  data(payload: unknown): void;
  /** The remote announced its media state. */
  media(state: MediaState): void;
  /** The remote announced what it publishes now. */
  sources(sources: SourceAnnouncement[]): void;
  /** A chat message from the remote. */
  chat(message: ChatChannelMessage): void;
  /** The remote asks this side to negotiate again. */
  renegotiationRequest(request: RenegotiationRequest): void;
  /** The remote shows this side's `source` video at most this large. */
  videoHint(hint: { source: "camera" | "screen"; maxWidth: number; maxHeight: number }): void;
  /** Something arrived that is not a message this build knows. */
  unreadable(): void;
}

interface PendingPing {
  sentAtMs: number;
  resolve: (rttMs: number) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Sends, queues and dispatches the messages of one data channel; see the module comment. */
export class DataChannelRouter {
  readonly #sendText: (text: string) => void;
  readonly #handlers: DataChannelHandlers;
  /** Who is at the other end, for error messages. */
  readonly #remoteName: string;
  #open = false;
  /** Internal messages produced before the channel opened; sent right after it opens. */
  #queued: MeshChannelMessage[] = [];
  /**
   * Chat messages waiting for the channel. Unlike {@link DataChannelRouter.#queued} they survive
   * `close()`: a message typed while the pair is rebuilt goes out on the next connection.
   */
  #chatOutbox: ChatChannelMessage[] = [];
  readonly #pings = new Map<number, PendingPing>();
  #nextPingSeq = 0;

  constructor(sendText: (text: string) => void, handlers: DataChannelHandlers, remoteName: string) {
    this.#sendText = sendText;
    this.#handlers = handlers;
    this.#remoteName = remoteName;
  }

  /** True between {@link DataChannelRouter.open} and {@link DataChannelRouter.close}. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** The channel opened: sends `first` (if any), then what was queued meanwhile. */
  open(first?: MeshChannelMessage): void {
    this.#open = true;
    if (first) {
      this.send(first);
    }
    for (const message of [...this.#queued.splice(0), ...this.#chatOutbox.splice(0)]) {
      this.send(message);
    }
  }

  /**
   * The connection under the channel is gone (closed, failed or replaced): drops the queue and
   * rejects the pings in flight with `reason`. The next connection calls `open()` again.
   */
  close(reason: string): void {
    this.#open = false;
    this.#queued = [];
    for (const pending of this.#pings.values()) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`ping to ${this.#remoteName} abandoned: ${reason}`));
    }
    this.#pings.clear();
  }

  /** Sends `message` now; returns false when the channel is not open. Throws a `RangeError` when too large. */
  send(message: MeshChannelMessage): boolean {
    if (!this.#open) {
      return false;
    }
    this.#sendText(encodeChannelMessage(message));
    return true;
  }

  /** Sends an internal message now, or as soon as the channel opens. */
  sendWhenOpen(message: MeshChannelMessage): void {
    if (!this.send(message)) {
      this.#queued.push(message);
    }
  }

  /** Sends a chat message now, or once the channel opens (this connection or a later one). */
  sendChat(message: ChatChannelMessage): void {
    if (!this.send(message)) {
      this.#chatOutbox.push(message);
      this.#chatOutbox.splice(0, this.#chatOutbox.length - CHAT_OUTBOX_MAX_MESSAGES);
    }
  }

  /** Measures one round trip, in milliseconds. Rejects when not open, on timeout or on close. */
  ping(timeoutMs: number = PING_TIMEOUT_MS): Promise<number> {
    if (!this.#open) {
      return Promise.reject(new Error(`peer ${this.#remoteName} is not connected`));
    }
    const seq = this.#nextPingSeq++;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pings.delete(seq);
        reject(new Error(`ping to ${this.#remoteName} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pings.set(seq, { sentAtMs: performance.now(), resolve, reject, timer });
      this.send({ type: "ping", seq });
    });
  }

  /** Dispatches one message the channel delivered. */
  receive(chunk: unknown): void {
    const message = decodeChannelMessage(chunk);
    if (!message) {
      this.#handlers.unreadable();
      return;
    }
    switch (message.type) {
      case "data":
        this.#handlers.data(message.data);
        return;
      case "media":
        this.#handlers.media({ audio: message.audio, video: message.video });
        return;
      case "sources":
        this.#handlers.sources(message.sources);
        return;
      case "ping":
        this.send({ type: "pong", seq: message.seq });
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
      case "chat":
        this.#handlers.chat(message);
        return;
      case "renegotiate":
      case "transceiver_request":
        this.#handlers.renegotiationRequest(message);
        return;
      case "video_hint":
        this.#handlers.videoHint({ source: message.source ?? "camera", maxWidth: message.maxWidth, maxHeight: message.maxHeight });
        return;
    }
  }
}
