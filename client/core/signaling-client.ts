/**
 * The signaling client: one logical connection to the webrtc-room server, typed both ways.
 *
 * It knows nothing about rooms or peers; the server connection (`server-connection.ts`) drives it.
 * The WebSocket constructor is injectable so that the same code runs on the browser's `WebSocket`
 * and on `ws` in Node.
 *
 * With a reconnect policy, the client survives the loss of its socket: it opens a new one after
 * the policy's delay, again and again until one opens or the policy gives up, and queues (bounded)
 * what the owner sends meanwhile. The new socket is a new server-side connection, so the owner has
 * to re-establish its identity first (`resume`, or `new_user` again): the queue is held after a
 * reconnection until the owner flushes it or discards it, and {@link SignalingClient.sendNow}
 * jumps it. Without a policy the client is single-use, as the phone session wants it.
 */
import { shouldReconnectAfterClose, decodeServerMessage, type ClientMessage, type ServerMessage } from "../../shared/protocol/index.ts";
import { TypedEmitter, type ListenerErrorHandler } from "./emitter.ts";
import type { ReconnectPolicy } from "./reconnect.ts";

export type { ReconnectPolicy } from "./reconnect.ts";

/**
 * The part of the WebSocket API this client uses. Both the browser's `WebSocket` and the `ws`
 * package's class satisfy it.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: () => void): void;
  removeEventListener(type: "open", listener: () => void): void;
  removeEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  removeEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
  removeEventListener(type: "error", listener: () => void): void;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers, `ws`'s default export in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * Lifecycle of a {@link SignalingClient}: `idle → connecting → open (⇄ reconnecting) → closed`.
 * A closed client stays closed.
 */
export const SignalingState = {
  /** Created; `connect()` not called yet. */
  idle: "idle",
  /** The first WebSocket handshake is in progress. */
  connecting: "connecting",
  /** Messages can be sent and received. */
  open: "open",
  /**
   * The socket was lost and the reconnect policy allows another attempt: waiting for it, or its
   * handshake is in progress. Messages sent now are queued.
   */
  reconnecting: "reconnecting",
  /** Gone for good: `close()`, a close code that forbids reconnecting, or the policy gave up. */
  closed: "closed",
} as const;

/** A value of {@link SignalingState}. */
export type SignalingState = (typeof SignalingState)[keyof typeof SignalingState];

/** How the socket ended. */
export interface SignalingCloseInfo {
  code: number;
  reason: string;
  /** True when `close()` ended it. */
  byClient: boolean;
  /** False when the socket never opened (server unreachable, upgrade refused). */
  opened: boolean;
}

/** Why queued messages were dropped instead of sent. */
export type DroppedReason =
  /** The queue held {@link SignalingClientOptions.maxQueuedMessages} already; this one was refused. */
  | "queue_full"
  /** The owner discarded the queue (its server-side identity was lost, so they mean nothing now). */
  | "discarded"
  /** The client closed for good with messages still queued. */
  | "closed";

/** Events of a {@link SignalingClient}. */
export type SignalingEvents = {
  /** A decoded message from the server. */
  message: ServerMessage;
  /** A frame that is not a protocol message (binary, or not a JSON object with a `type`). */
  "bad-message": { detail: string };
  /**
   * The socket was lost (`code`, `reason` of its close) and attempt `attempt` will start in
   * `delayMs`. Emitted again before every further attempt of the same outage.
   */
  reconnecting: { attempt: number; delayMs: number; code: number; reason: string };
  /**
   * A new socket is open after `attempts` attempts. The queue is held: the owner sends its
   * identity with {@link SignalingClient.sendNow}, then calls `flushQueue()` or `discardQueue()`.
   */
  reconnected: { attempts: number };
  /** Messages accepted by `send()` that will never be sent. */
  dropped: { messages: ClientMessage[]; reason: DroppedReason };
  /** Emitted once, when the connection is gone for good; the client has dropped every listener after it. */
  close: SignalingCloseInfo;
};

/** Options of a {@link SignalingClient}. */
export interface SignalingClientOptions {
  /** `ws://` or `wss://` URL of the server's `/ws` endpoint. */
  url: string;
  /** WebSocket class to use; defaults to `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /**
   * Reconnect with this policy when an open socket is lost; omit for a single-use client (the
   * first close is final). `connect()` itself is never retried: an unreachable server is an error
   * the caller should see at once.
   */
  reconnect?: ReconnectPolicy;
  /**
   * Whether a close code allows reconnecting; defaults to the protocol's
   * `shouldReconnectAfterClose` (1012 restart, 1006 lost, 1001 going away, 4002 slow reader) —
   * never 4001 (misbehaving) or 4003 (replaced).
   */
  shouldReconnect?: (code: number) => boolean;
  /** Bound on messages queued while reconnecting; more are refused with a `dropped` event. */
  maxQueuedMessages?: number;
  onListenerError?: ListenerErrorHandler;
}

/** Default bound on the queue of messages sent while reconnecting. */
export const MAX_QUEUED_MESSAGES = 512;

/**
 * The default of {@link SignalingClientOptions.shouldReconnect}. 4002 (the server closed a slow
 * reader) is transient, so it is retried too, whatever the shared table says.
 */
export function defaultShouldReconnect(code: number): boolean {
  return shouldReconnectAfterClose(code) || code === 4002;
}

/** Normal closure (RFC 6455); the only code below 3000 a browser lets a client send. */
const NORMAL_CLOSURE = 1000;

/** Closed without a close frame (RFC 6455); also used when the socket could not even be created. */
const ABNORMAL_CLOSURE = 1006;

/** `WebSocket.OPEN`, not read from the class because an injected class might not define it. */
const READY_STATE_OPEN = 1;

/** Typed connection to the signaling server; reconnects by itself when given a policy. */
export class SignalingClient extends TypedEmitter<SignalingEvents> {
  readonly url: string;
  readonly #WebSocket: WebSocketConstructor;
  readonly #reconnect: ReconnectPolicy | undefined;
  readonly #shouldReconnect: (code: number) => boolean;
  readonly #maxQueued: number;
  #state: SignalingState = SignalingState.idle;
  /** The current socket; events of any earlier one are ignored. */
  #socket: WebSocketLike | undefined;
  #opened = false;
  /**
   * Attempts made in the current outage. Reset when the owner flushes the queue (its place on
   * the server is back), not when a socket opens: a server that accepts and drops at once must
   * not reset the backoff.
   */
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Messages accepted while reconnecting (or held after it), oldest first. */
  #queue: ClientMessage[] = [];
  /** True from a reconnection until the owner flushes or discards the queue. */
  #holding = false;
  /** Settles the promise of `connect()`; set only while the first handshake is in progress. */
  #settleConnect: ((error?: Error) => void) | undefined;

  constructor(options: SignalingClientOptions) {
    super(options.onListenerError);
    this.url = options.url;
    const fallback = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const WebSocketClass = options.WebSocket ?? fallback;
    if (!WebSocketClass) {
      throw new TypeError("no WebSocket implementation: pass options.WebSocket (e.g. the `ws` package in Node)");
    }
    this.#WebSocket = WebSocketClass;
    this.#reconnect = options.reconnect;
    this.#shouldReconnect = options.shouldReconnect ?? defaultShouldReconnect;
    this.#maxQueued = options.maxQueuedMessages ?? MAX_QUEUED_MESSAGES;
  }

  /** Current lifecycle state. */
  get state(): SignalingState {
    return this.#state;
  }

  /** True while messages go out at once (open, and the queue not held after a reconnection). */
  get isOpen(): boolean {
    return this.#state === SignalingState.open;
  }

  /** True while the socket is lost and another attempt will be made. */
  get isReconnecting(): boolean {
    return this.#state === SignalingState.reconnecting;
  }

  /** True once the connection is gone for good. */
  get closed(): boolean {
    return this.#state === SignalingState.closed;
  }

  /** Messages waiting for the connection to come back (or for the owner to flush them). */
  get queuedCount(): number {
    return this.#queue.length;
  }

  /**
   * Opens the socket. Resolves once it is open; rejects if it closes first (unreachable server,
   * refused upgrade, or `close()` during the handshake). Call once.
   */
  connect(): Promise<void> {
    if (this.#state !== SignalingState.idle) {
      return Promise.reject(new Error(`connect() called in state "${this.#state}"`));
    }
    this.#state = SignalingState.connecting;
    return new Promise<void>((resolve, reject) => {
      this.#settleConnect = (error) => (error ? reject(error) : resolve());
      this.#openSocket();
    });
  }

  /**
   * Sends one message: at once when open; queued while reconnecting, or after a reconnection until
   * the owner flushes. Returns true when sent or queued, false when dropped (not connected yet,
   * closed, or the queue is full, which also emits `dropped`).
   */
  send(message: ClientMessage): boolean {
    if (this.#state === SignalingState.reconnecting || (this.#state === SignalingState.open && this.#holding)) {
      if (this.#queue.length >= this.#maxQueued) {
        this.emit("dropped", { messages: [message], reason: "queue_full" });
        return false;
      }
      this.#queue.push(message);
      return true;
    }
    return this.sendNow(message);
  }

  /** Sends one message now, ahead of the queue. Returns false (and sends nothing) unless the socket is open. */
  sendNow(message: ClientMessage): boolean {
    if (this.#state !== SignalingState.open || !this.#socket || this.#socket.readyState !== READY_STATE_OPEN) {
      return false;
    }
    this.#socket.send(JSON.stringify(message));
    return true;
  }

  /**
   * Releases the queue held after a reconnection: sends what it holds, in order, and lets later
   * messages go out at once; the outage is over (the next one starts at attempt 1). Does nothing
   * unless open.
   */
  flushQueue(): void {
    if (this.#state !== SignalingState.open) {
      return;
    }
    this.#holding = false;
    this.#attempt = 0;
    const queued = this.#queue;
    this.#queue = [];
    for (const message of queued) {
      this.sendNow(message);
    }
  }

  /**
   * Drops everything queued (with a `dropped` event, reason `discarded`) and releases the hold:
   * the owner lost its server-side identity, so messages addressed under the old one are void.
   */
  discardQueue(): void {
    this.#holding = false;
    this.#dropQueue("discarded");
  }

  /**
   * Closes the connection with a normal closure and stops reconnecting. Safe to call twice and in
   * any state. The state is `closed` when this returns; the `close` event follows at once, not
   * when the handshake ends.
   */
  close(): void {
    if (this.#state === SignalingState.closed) {
      return;
    }
    // The listeners stay attached to a socket that is still open until it reports its own close
    // (they ignore it once the state is closed), so that `ws` always has an 'error' listener
    // while it winds down.
    this.#socket?.close(NORMAL_CLOSURE, "client closed");
    this.#finish({ code: NORMAL_CLOSURE, reason: "client closed", byClient: true, opened: this.#opened });
  }

  #openSocket(): void {
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(this.url);
    } catch (error) {
      // A malformed URL throws synchronously; report it like any other failed connection.
      this.#onSocketClosed(undefined, { code: ABNORMAL_CLOSURE, reason: String(error) });
      return;
    }
    this.#socket = socket;
    const onOpen = (): void => {
      if (this.#socket !== socket) {
        return;
      }
      this.#onSocketOpen();
    };
    const onMessage = (event: { data: unknown }): void => {
      if (this.#socket !== socket || this.#state !== SignalingState.open) {
        return;
      }
      if (typeof event.data !== "string") {
        this.emit("bad-message", { detail: "binary frame" });
        return;
      }
      const message = decodeServerMessage(event.data);
      if (message) {
        this.emit("message", message);
      } else {
        this.emit("bad-message", { detail: `unreadable frame: ${event.data.slice(0, 80)}` });
      }
    };
    // The browser reports errors without detail and always follows them with `close`, so the
    // close handler is where failures are handled; this listener only keeps `ws` from throwing
    // an unhandled 'error' event.
    const onError = (): void => {};
    const onClose = (event: { code: number; reason: string }): void => {
      socket.removeEventListener("open", onOpen);
      socket.removeEventListener("message", onMessage);
      socket.removeEventListener("close", onClose);
      socket.removeEventListener("error", onError);
      this.#onSocketClosed(socket, event);
    };
    socket.addEventListener("open", onOpen);
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", onClose);
    socket.addEventListener("error", onError);
  }

  #onSocketOpen(): void {
    const first = this.#state === SignalingState.connecting;
    if (!first && this.#state !== SignalingState.reconnecting) {
      return;
    }
    this.#state = SignalingState.open;
    this.#opened = true;
    const attempts = this.#attempt;
    if (first) {
      const settle = this.#settleConnect;
      this.#settleConnect = undefined;
      settle?.();
      return;
    }
    // A new server-side connection: nothing queued may go out before the owner re-identifies.
    this.#holding = true;
    this.emit("reconnected", { attempts });
  }

  /** `socket` (the current one, or none when it could not even be created) closed with `event`. */
  #onSocketClosed(socket: WebSocketLike | undefined, event: { code: number; reason: string }): void {
    if (this.#state === SignalingState.closed || (socket !== undefined && socket !== this.#socket)) {
      return;
    }
    this.#socket = undefined;
    const retry = this.#state !== SignalingState.connecting && this.#reconnect !== undefined && this.#shouldReconnect(event.code);
    const delayMs = retry ? this.#reconnect?.(this.#attempt + 1) ?? null : null;
    if (delayMs === null) {
      this.#finish({ code: event.code, reason: event.reason, byClient: false, opened: this.#opened });
      return;
    }
    this.#attempt += 1;
    this.#state = SignalingState.reconnecting;
    this.emit("reconnecting", { attempt: this.#attempt, delayMs, code: event.code, reason: event.reason });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state === SignalingState.reconnecting) {
        this.#openSocket();
      }
    }, Math.max(0, delayMs));
  }

  #dropQueue(reason: DroppedReason): void {
    const messages = this.#queue;
    this.#queue = [];
    if (messages.length > 0) {
      this.emit("dropped", { messages, reason });
    }
  }

  #finish(info: SignalingCloseInfo): void {
    if (this.#state === SignalingState.closed) {
      return;
    }
    this.#state = SignalingState.closed;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const settle = this.#settleConnect;
    this.#settleConnect = undefined;
    settle?.(new Error(`WebSocket to ${this.url} closed before opening (code ${info.code}${info.reason ? `, ${info.reason}` : ""})`));
    this.#dropQueue("closed");
    this.emit("close", info);
    this.removeAllListeners();
  }
}
