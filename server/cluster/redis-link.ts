/**
 * The node's two connections to Redis (ioredis): one for commands and scripts, one subscribed to
 * this node's wake channel. Commands go out in call order on one connection and their replies
 * come back in that order, which the cluster relies on: a sender's relays reach Redis in the order
 * it sent them. While Redis is unreachable, commands wait in ioredis's queue (never failed by a
 * retry count) and are sent once it is back; a command whose reply was lost with the connection is
 * sent again, which every script tolerates (see server/cluster/scripts.ts).
 */
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { SCRIPTS, inboxKey, wakeChannel, type ScriptName } from "./scripts.ts";

/** Each script's SHA-1, the name Redis caches it under. */
const SCRIPT_SHAS = Object.fromEntries(Object.entries(SCRIPTS).map(([name, source]) => [name, createHash("sha1").update(source).digest("hex")])) as Record<ScriptName, string>;

/** The link's state, as `/healthz` reports it. */
export type RedisLinkState = "connecting" | "connected" | "reconnecting" | "closed";

/** Longest pause between two reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 1000;

/** Commands that may wait for Redis at once; past it cross-node relays are refused, so memory stays bounded. */
export const MAX_PENDING_COMMANDS = 10_000;

/** What {@link RedisLink} reports to. */
export interface RedisLinkEvents {
  /** A message on this node's wake channel. */
  wake(message: string): void;
  /** The wake channel is (again) subscribed: wakes sent while it was not may have been lost. */
  subscribed(): void;
  /** A connection error (logged once per kind by the caller). */
  error(error: Error): void;
}

/** Options of a {@link RedisLink}. */
export interface RedisLinkOptions {
  /** `redis://…`, `rediss://…` or a unix socket path. */
  url: string;
  node: string;
  /** Most entries an inbox holds, and how long it lives after its last entry. */
  inboxMaxEntries: number;
  inboxTtlMs: number;
  events: RedisLinkEvents;
}

/** The connections, the scripts and the link's health. */
export class RedisLink {
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  readonly #options: RedisLinkOptions;
  /** Commands sent and not answered yet. */
  #pending = 0;
  /** Round trip of the last heartbeat, in milliseconds; -1 before the first. */
  rttMs = -1;
  #closed = false;

  constructor(options: RedisLinkOptions) {
    this.#options = options;
    const common = {
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      retryStrategy: (attempt: number) => Math.min(50 * attempt, MAX_RECONNECT_DELAY_MS),
    };
    this.#commands = new Redis(options.url, { ...common, connectionName: `webrtc-room:${options.node}` });
    this.#subscriber = new Redis(options.url, { ...common, autoResubscribe: false, connectionName: `webrtc-room:${options.node}:wake` });
    for (const client of [this.#commands, this.#subscriber]) {
      client.on("error", (error: Error) => options.events.error(error));
    }
    // Loaded on every (re)connection before anything queued goes out (ioredis sends what waited
    // right after its "ready"), so that scripts run by their SHA-1 keep their order.
    this.#commands.on("ready", () => {
      for (const source of Object.values(SCRIPTS)) {
        this.#commands.script("LOAD", source).catch((error: unknown) => options.events.error(error instanceof Error ? error : new Error(String(error))));
      }
    });
    this.#subscriber.on("message", (_channel: string, message: string) => options.events.wake(message));
    // Subscribed by hand on every (re)connection, then told: wakes published while the channel
    // was not subscribed are lost, and only the owner knows which inboxes to read again.
    this.#subscriber.on("ready", () => {
      this.#subscriber.subscribe(wakeChannel(options.node)).then(
        () => options.events.subscribed(),
        (error: unknown) => options.events.error(error instanceof Error ? error : new Error(String(error))),
      );
    });
  }

  /** `connected` while both connections are ready. */
  get state(): RedisLinkState {
    if (this.#closed) {
      return "closed";
    }
    const statuses = [this.#commands.status, this.#subscriber.status];
    if (statuses.every((status) => status === "ready")) {
      return "connected";
    }
    return statuses.some((status) => status === "reconnecting" || status === "end" || status === "close") ? "reconnecting" : "connecting";
  }

  /** True while both connections are up: commands go out at once and wakes arrive. */
  get ready(): boolean {
    return this.state === "connected";
  }

  /** Commands sent and not answered yet. */
  get pendingCommands(): number {
    return this.#pending;
  }

  /**
   * Runs script `name` with `args` after the two inbox arguments every script takes, by its SHA-1
   * (the script's text is sent only when Redis does not know it: its first use, or after Redis
   * restarted empty, when no state is left for the order of that one retry to matter).
   */
  run(name: ScriptName, ...args: Array<string | number>): Promise<unknown> {
    this.#pending += 1;
    const argv = [this.#options.inboxMaxEntries, this.#options.inboxTtlMs, ...args];
    const reply = this.#commands.evalsha(SCRIPT_SHAS[name], 0, ...argv).catch((error: unknown) => {
      if (error instanceof Error && error.message.includes("NOSCRIPT")) {
        return this.#commands.eval(SCRIPTS[name], 0, ...argv);
      }
      throw error;
    });
    return reply.finally(() => {
      this.#pending -= 1;
    });
  }

  /** Deletes the inbox entries `ids` of session `id` (written to its socket). */
  acknowledge(id: string, ids: string[]): void {
    this.#pending += 1;
    this.#commands.xdel(inboxKey(id), ...ids).then(
      () => (this.#pending -= 1),
      () => (this.#pending -= 1),
    );
  }

  /** Entries waiting in each inbox of `ids`, in one round trip. */
  async inboxLengths(ids: readonly string[]): Promise<number[]> {
    if (ids.length === 0) {
      return [];
    }
    const pipeline = this.#commands.pipeline();
    for (const id of ids) {
      pipeline.xlen(inboxKey(id));
    }
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([, length]) => (typeof length === "number" ? length : 0));
  }

  /** Closes both connections, letting queued commands go out first when Redis is reachable. */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    const quit = (client: Redis): Promise<unknown> => (client.status === "ready" ? client.quit().catch(() => client.disconnect()) : Promise.resolve(client.disconnect()));
    await Promise.all([quit(this.#commands), quit(this.#subscriber)]);
  }
}
