/**
 * The signaling client: one WebSocket to the webrtc-room server, typed both ways.
 *
 * It knows nothing about rooms or peers; the mesh session drives it. The WebSocket constructor is
 * injectable so that the same code runs on the browser's `WebSocket` and on `ws` in Node.
 */
import { decodeServerMessage, type ClientMessage, type ServerMessage } from "../../shared/protocol/index.ts";
import { TypedEmitter, type ListenerErrorHandler } from "./emitter.ts";

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
 * Reconnect policy: the delay before reconnect attempt `attempt` (1-based), or `null` to give
 * up. Reconnection itself arrives with session resume; the type is fixed here so that the
 * signaling client's options do not change shape when it does.
 */
export type ReconnectPolicy = (attempt: number) => number | null;

/** Lifecycle of a {@link SignalingClient}. Only moves forward: a closed client stays closed. */
export const SignalingState = {
  /** Created; `connect()` not called yet. */
  idle: "idle",
  /** The WebSocket handshake is in progress. */
  connecting: "connecting",
  /** Messages can be sent and received. */
  open: "open",
  /** The socket is gone, by `close()` or by the network or server. */
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

/** Events of a {@link SignalingClient}. */
export type SignalingEvents = {
  /** A decoded message from the server. */
  message: ServerMessage;
  /** A frame that is not a protocol message (binary, or not a JSON object with a `type`). */
  "bad-message": { detail: string };
  /** Emitted once, when the socket is gone; the client has dropped every listener after it. */
  close: SignalingCloseInfo;
};

/** Options of a {@link SignalingClient}. */
export interface SignalingClientOptions {
  /** `ws://` or `wss://` URL of the server's `/ws` endpoint. */
  url: string;
  /** WebSocket class to use; defaults to `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  onListenerError?: ListenerErrorHandler;
}

/** Normal closure (RFC 6455); the only code below 3000 a browser lets a client send. */
const NORMAL_CLOSURE = 1000;

/** Closed without a close frame (RFC 6455); also used when the socket could not even be created. */
const ABNORMAL_CLOSURE = 1006;

/** `WebSocket.OPEN`, not read from the class because an injected class might not define it. */
const READY_STATE_OPEN = 1;

/** Typed, single-use WebSocket connection to the signaling server. */
export class SignalingClient extends TypedEmitter<SignalingEvents> {
  readonly url: string;
  readonly #WebSocket: WebSocketConstructor;
  #state: SignalingState = SignalingState.idle;
  #socket: WebSocketLike | undefined;
  #opened = false;
  /** Rejects the promise of `connect()`; set only while the handshake is in progress. */
  #rejectConnect: ((error: Error) => void) | undefined;

  constructor(options: SignalingClientOptions) {
    super(options.onListenerError);
    this.url = options.url;
    const fallback = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const WebSocketClass = options.WebSocket ?? fallback;
    if (!WebSocketClass) {
      throw new TypeError("no WebSocket implementation: pass options.WebSocket (e.g. the `ws` package in Node)");
    }
    this.#WebSocket = WebSocketClass;
  }

  /** Current lifecycle state. */
  get state(): SignalingState {
    return this.#state;
  }

  /** True while messages can be sent. */
  get isOpen(): boolean {
    return this.#state === SignalingState.open;
  }

  /** True once the socket is gone for good. */
  get closed(): boolean {
    return this.#state === SignalingState.closed;
  }

  /**
   * Opens the socket. Resolves once it is open; rejects if it closes first (unreachable server,
   * refused upgrade, or `close()` during the handshake). Call once.
   */
  connect(): Promise<void> {
    if (this.#state !== SignalingState.idle) {
      return Promise.reject(new Error(`connect() called in state "${this.#state}"`));
    }
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(this.url);
    } catch (error) {
      // A malformed URL throws synchronously; report it like any other failed connection.
      this.#finish({ code: ABNORMAL_CLOSURE, reason: String(error), byClient: false, opened: false });
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.#socket = socket;
    this.#state = SignalingState.connecting;
    return new Promise<void>((resolve, reject) => {
      this.#rejectConnect = reject;
      const onOpen = (): void => {
        if (this.#state !== SignalingState.connecting) {
          return;
        }
        this.#state = SignalingState.open;
        this.#opened = true;
        this.#rejectConnect = undefined;
        resolve();
      };
      const onMessage = (event: { data: unknown }): void => {
        if (this.#state !== SignalingState.open) {
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
        this.#finish({ code: event.code, reason: event.reason, byClient: false, opened: this.#opened });
      };
      socket.addEventListener("open", onOpen);
      socket.addEventListener("message", onMessage);
      socket.addEventListener("close", onClose);
      socket.addEventListener("error", onError);
    });
  }

  /** Sends one message. Returns false (and sends nothing) unless the socket is open. */
  send(message: ClientMessage): boolean {
    if (this.#state !== SignalingState.open || !this.#socket || this.#socket.readyState !== READY_STATE_OPEN) {
      return false;
    }
    this.#socket.send(JSON.stringify(message));
    return true;
  }

  /**
   * Closes the socket with a normal closure. Safe to call twice and in any state. The state is
   * `closed` when this returns; the `close` event follows at once, not when the handshake ends.
   */
  close(): void {
    if (this.#state === SignalingState.closed) {
      return;
    }
    // Listeners stay attached until the socket reports its own close (they ignore everything
    // once the state is closed), so that `ws` always has an 'error' listener while it winds down.
    this.#socket?.close(NORMAL_CLOSURE, "client closed");
    this.#finish({ code: NORMAL_CLOSURE, reason: "client closed", byClient: true, opened: this.#opened });
  }

  #finish(info: SignalingCloseInfo): void {
    if (this.#state === SignalingState.closed) {
      return;
    }
    this.#state = SignalingState.closed;
    const rejectConnect = this.#rejectConnect;
    this.#rejectConnect = undefined;
    rejectConnect?.(new Error(`WebSocket to ${this.url} closed before opening (code ${info.code}${info.reason ? `, ${info.reason}` : ""})`));
    this.emit("close", info);
    this.removeAllListeners();
  }
}
