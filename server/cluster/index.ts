/**
 * One node of a cluster (`webrtc-room serve --redis-url …`): its link to Redis, its rooms and its
 * handler table, started together. server/server.ts imports this module only when `redisUrl` is
 * set: a single node does not even load the Redis client.
 */
import { nanoid } from "nanoid";
import { RESUME_BUFFER_MAX_MESSAGES } from "../resume.ts";
import type { HandlerServices, HandlerTable } from "../handlers/index.ts";
import { ClusterRooms, type ClusterRoomsOptions } from "./cluster-rooms.ts";
import { clusterHandlerTable } from "./handlers.ts";
import { RedisLink } from "./redis-link.ts";


/** How long a starting node waits for Redis before it listens anyway (refusing joins until Redis answers). */
const START_WAIT_MS = 10_000;

/** Extra lifetime of an inbox beyond the longest a session can stay resumable, in milliseconds. */
const INBOX_TTL_MARGIN_MS = 10_000;

/** What {@link startClusterNode} needs beyond what {@link ClusterRooms} takes. */
export interface ClusterNodeOptions extends Omit<ClusterRoomsOptions, "link" | "node"> {
  redisUrl: string;
  /** Unset: a random name for this run. */
  nodeId?: string;
}

/** A started node: its rooms, and how to stop it. */
export interface ClusterNode {
  readonly node: string;
  readonly rooms: ClusterRooms;
  /** The handler table of this node, on the services a single node's handlers get. */
  handlerTable(services: HandlerServices): HandlerTable;
  /** Ends this node's sessions, stops the heartbeat and closes the connections to Redis. */
  close(): Promise<void>;
}

/** Connects to Redis, ends what a previous run under the same node id left, and starts heartbeating. */
export async function startClusterNode(options: ClusterNodeOptions): Promise<ClusterNode> {
  const node = options.nodeId ?? nanoid(10);
  const reportedErrors = new Set<string>();
  const link: RedisLink = new RedisLink({
    url: options.redisUrl,
    node,
    inboxMaxEntries: RESUME_BUFFER_MAX_MESSAGES,
    inboxTtlMs: options.deadAfterMs + options.graceMs + INBOX_TTL_MARGIN_MS,
    events: {
      wake: (message) => options.failures.guarded("cluster wake", () => rooms.wake(message)),
      subscribed: () => {
        if (reportedErrors.size > 0) {
          options.log(`node ${node}: Redis reachable again`);
          reportedErrors.clear();
        }
        options.failures.guarded("cluster wake", () => rooms.subscribed());
      },
      error: (error) => {
        // Reconnection attempts repeat the same error: one line per kind until Redis is back.
        const kind = (error as NodeJS.ErrnoException).code ?? error.message;
        if (!reportedErrors.has(kind)) {
          reportedErrors.add(kind);
          options.log(`node ${node}: Redis: ${error.message} (retrying; joins are refused meanwhile)`);
        }
      },
    },
  });
  const rooms: ClusterRooms = new ClusterRooms({ ...options, node, link });
  const started = rooms.start().then(
    () => "started" as const,
    (error: unknown) => {
      options.failures.report("cluster start", error);
      return "failed" as const;
    },
  );
  const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), START_WAIT_MS).unref());
  if ((await Promise.race([started, timeout])) === "timeout") {
    options.log(`node ${node}: Redis does not answer yet; listening anyway, joins are refused until it does`);
  }
  return {
    node,
    rooms,
    handlerTable: (services) => clusterHandlerTable(services, rooms),
    async close() {
      await rooms.close();
      await link.close();
    },
  };
}
