/**
 * Rooms across the nodes of a cluster: what one node does with its own sockets while the room
 * membership and the sessions live in Redis (server/cluster/scripts.ts).
 *
 * - **Delivery.** Whatever a script addresses to a session (a `connection_list`, a leave, a relay
 *   from another node) goes into that session's inbox stream, and the owner node is woken on its
 *   channel; the owner reads the inbox from its cursor, writes the frames to the socket and then
 *   deletes them. A wake lost while the subscription was down costs nothing: on resubscribing, the
 *   node reads every local inbox again.
 * - **Fast path.** A relay between two sockets on the same node goes straight to the transport's
 *   relay fast path, as on a single node; only while the target's inbox is being read does it
 *   wait behind it (in memory), so that a frame never overtakes what the inbox held before it.
 * - **Sessions.** A socket lost abruptly suspends its session (in Redis, so that any node may take
 *   a `resume`); this node's grace timer ends it unless a resume came first, on whichever node. A
 *   resume on another node moves the session there and this node closes its stale socket with 4004.
 * - **Nodes.** Each node heartbeats in Redis time; every node reaps the nodes silent for longer than
 *   dead-after + grace: their sessions leave their rooms, once (server/cluster/scripts.ts `reap`).
 *
 * Handlers that need Redis return promises: the connection's later messages wait behind them
 * (server/ordered-messages.ts), except relays, which are queued on the one Redis connection in the
 * order they came and answered later only when refused.
 */
import { createHash } from "node:crypto";
import { nanoid } from "nanoid";
import { CLOSE_CODES, type ErrorCode, type Participant, type RoomGrants, type RoomState, type ServerMessage } from "../../shared/protocol/index.ts";
import type { AddressRateLimiter } from "../address-limits.ts";
import type { FailureReporter } from "../failures.ts";
import { suspendsOnClose } from "../resume.ts";
import type { Admission, TargetedMessage } from "../rooms.ts";
import type { TimerService } from "../timers.ts";
import type { Connection, SessionLoss, WebSocketTransport } from "../transport.ts";
import type { IssuedIceServers } from "../turn.ts";
import { MAX_PENDING_COMMANDS, type RedisLink } from "./redis-link.ts";

/** Inbox entries read per round trip. */
const READ_BATCH = 128;

/** The one refusal text of `resume`, as on a single node: it tells a stranger nothing. */
const RESUME_REFUSED = "cannot resume that participant: join as a new one";

/** Room state in a cluster: no hosts, no lock, no password, no lobby (those are refused, docs/scaling.md). */
const CLUSTER_ROOM_STATE: RoomState = { locked: false, passwordSet: false, lobby: false, hosts: [] };

/** The grants of every participant in a cluster: no host controls yet, never hidden. */
const CLUSTER_GRANTS: RoomGrants = { publish: true, data: true, host: false, hidden: false };

/** A session this node owns. */
interface LocalSession {
  readonly id: string;
  /** Undefined while its join is in flight. */
  room: string | undefined;
  username: string;
  /** The last inbox entry written to its socket. */
  cursor: string;
  /** True while its inbox is being read; local relays to it wait in {@link held}. */
  reading: boolean;
  /** A wake came while reading: read once more. */
  readAgain: boolean;
  held: string[];
}

/** What {@link ClusterRooms} works with. */
export interface ClusterRoomsOptions {
  node: string;
  link: RedisLink;
  transport: WebSocketTransport;
  timers: TimerService;
  failures: FailureReporter;
  roomCapacity: number;
  /** The `joined` of `admission` (server/handlers/welcome.ts), with its resume token. */
  joined(admission: Admission, resumeToken: string): ServerMessage;
  /** How long a suspended session may be resumed; 0 never suspends. */
  graceMs: number;
  /** A node silent this long is dead; its sessions end {@link graceMs} later. */
  deadAfterMs: number;
  resumeFailures: AddressRateLimiter;
  iceServersFor(id: string): IssuedIceServers;
  forgetIceServers(id: string): void;
  /** One line for the operator (a node reaped, Redis lost or back). */
  log(line: string): void;
}

/** Figures for `/healthz` and `/metrics`. */
export interface ClusterStats {
  node: string;
  redis: string;
  redisRttMs: number;
  /** Rooms with a participant on this node, and those participants. */
  rooms: number;
  participants: number;
  /** Entries waiting in the inboxes of this node's sessions, all and the longest (last heartbeat). */
  inboxEntries: number;
  longestInbox: number;
  /** Sessions of dead nodes this node ended. */
  reapedSessions: number;
}

/** A new resume token, as on a single node: 32 nanoid characters. */
function newResumeToken(): string {
  return Buffer.from(nanoid(32), "latin1").toString("latin1");
}

/** What Redis keeps of a resume token: its SHA-256. */
function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The grace timer of session `id` on this node. */
function graceTimerId(id: string): string {
  return `clustergrace:${id}`;
}

/** Rooms, relays and sessions of one node of a cluster. */
export class ClusterRooms {
  readonly #options: ClusterRoomsOptions;
  readonly #local = new Map<string, LocalSession>();
  /** Increases with every cross-node relay, so a relay resent after a reconnection is dropped once. */
  #relayCounter = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #beating = false;
  /** Since when Redis has answered without a break (heartbeat time); undefined while it does not. */
  #connectedSinceMs: number | undefined;
  #inboxEntries = 0;
  #longestInbox = 0;
  #reapedSessions = 0;
  #closed = false;

  constructor(options: ClusterRoomsOptions) {
    this.#options = options;
  }

  /** Ends what a previous run under this node id left, heartbeats, and starts the heartbeat and reaper. */
  async start(): Promise<void> {
    const { link, node, deadAfterMs } = this.#options;
    const ended = (await link.run("start", node)) as string[];
    if (ended.length > 0) {
      this.#options.log(`node ${node}: ended ${ended.length} sessions left by its previous run`);
    }
    // A few beats per dead-after bound, so that one late beat never declares a node dead.
    const intervalMs = Math.max(100, Math.floor(deadAfterMs / 4));
    this.#heartbeat = setInterval(() => {
      this.#beat().catch((error: unknown) => this.#options.failures.report("cluster heartbeat", error));
    }, intervalMs);
  }

  /** The room session `id` joined on this node, if any. */
  roomOf(id: string): string | undefined {
    return this.#local.get(id)?.room;
  }

  /** Figures for `/healthz` and `/metrics`. */
  stats(): ClusterStats {
    const rooms = new Set<string>();
    let participants = 0;
    for (const session of this.#local.values()) {
      if (session.room !== undefined) {
        rooms.add(session.room);
        participants += 1;
      }
    }
    return {
      node: this.#options.node,
      redis: this.#options.link.state,
      redisRttMs: this.#options.link.rttMs,
      rooms: rooms.size,
      participants,
      inboxEntries: this.#inboxEntries,
      longestInbox: this.#longestInbox,
      reapedSessions: this.#reapedSessions,
    };
  }

  /**
   * `new_user` with its name and grants settled: one `join` script (capacity check, add, and
   * `connection_list` to every member's inbox). `joined` goes straight to the socket; the list
   * follows through the inbox. Refused with `cluster_unavailable` while Redis is unreachable.
   */
  async join(sender: Connection, room: string, username: string): Promise<void> {
    const { link, transport, node, roomCapacity } = this.#options;
    if (this.#local.has(sender.id)) {
      transport.refuse(sender, "already_in_room", `already joined room "${this.#local.get(sender.id)?.room ?? room}"`, "new_user");
      return;
    }
    if (!link.ready) {
      this.#refuseUnavailable(sender, "new_user");
      return;
    }
    // Registered before the script runs: the wake for its `connection_list` may come before the reply.
    const session: LocalSession = { id: sender.id, room: undefined, username, cursor: "0-0", reading: false, readAgain: false, held: [] };
    this.#local.set(sender.id, session);
    const token = newResumeToken();
    const reply = (await link.run("join", sender.id, room, username, node, roomCapacity, tokenHash(token))) as string[];
    if (this.#local.get(sender.id) !== session || !transport.isOpen(sender)) {
      // The socket closed meanwhile: the seat just taken is given back.
      if (reply[0] === "ok") {
        void this.#end(sender.id);
      }
      return;
    }
    if (reply[0] !== "ok") {
      this.#local.delete(sender.id);
      const code = reply[0] as ErrorCode;
      transport.refuse(sender, code, code === "room_full" ? `room "${room}" is full (${roomCapacity} participants)` : `already joined room "${room}"`, "new_user");
      return;
    }
    session.room = room;
    const admission: Admission = { id: sender.id, room, username, grants: { ...CLUSTER_GRANTS }, roomState: { ...CLUSTER_ROOM_STATE, hosts: [] } };
    transport.sendFrame(sender.id, JSON.stringify(this.#options.joined(admission, token)));
    this.#read(session);
  }

  /** `close_connection`: the session leaves its room and ends (a cluster session holds nothing else). */
  async leave(sender: Connection): Promise<void> {
    const session = this.#local.get(sender.id);
    if (session?.room === undefined) {
      this.#options.transport.refuse(sender, "not_in_room", "not in a room", "close_connection");
      return;
    }
    await this.#end(sender.id);
  }

  /**
   * A negotiation message of `sender` to `message.targetId`. Same node: the transport's fast path.
   * Another node (or a suspended target): the `relay` script checks the target is in the sender's
   * room and queues the stamped frame in its inbox; only a refusal comes back.
   */
  relay(sender: Connection, message: TargetedMessage, text: string, bytes: Uint8Array): void {
    const { transport, link, node } = this.#options;
    const from = this.#local.get(sender.id);
    if (from?.room === undefined) {
      transport.refuse(sender, "not_in_room", `${message.type} needs a joined room`, message.type);
      return;
    }
    if (message.targetId === sender.id) {
      transport.refuse(sender, "self_target", "targetId is the sender itself", message.type);
      return;
    }
    const to = this.#local.get(message.targetId);
    if (to !== undefined && transport.isConnected(to.id)) {
      if (to.room !== from.room) {
        transport.refuse(sender, "unknown_target", `no participant "${message.targetId}" in this room`, message.type);
      } else if (to.reading && link.ready) {
        // Behind what its inbox holds. (With Redis away the read waits for it: local relays go on.)
        to.held.push(JSON.stringify({ ...message, id: sender.id, username: from.username }));
      } else {
        transport.relay(sender, to.id, from.username, message, text, bytes);
      }
      return;
    }
    if (link.pendingCommands >= MAX_PENDING_COMMANDS) {
      this.#refuseUnavailable(sender, message.type);
      return;
    }
    this.#relayCounter += 1;
    const frame = JSON.stringify({ ...message, id: sender.id, username: from.username });
    link.run("relay", message.targetId, from.room, frame, node, this.#relayCounter).then(
      (queued) => {
        if (queued !== 1 && transport.isOpen(sender)) {
          transport.refuse(sender, "unknown_target", `no participant "${message.targetId}" in this room`, message.type);
        }
      },
      (error: unknown) => this.#options.failures.report("cluster relay", error),
    );
  }

  /**
   * `resume`: takes session `id` over from whichever node owns it (this one included), under a
   * new token, and replays its inbox after `resumed`. The old socket, here or there, is closed
   * with 4004.
   */
  async resume(connection: Connection, id: string, token: string, nowMs: number): Promise<void> {
    const { transport, link, node, resumeFailures } = this.#options;
    // As on a single node: past its budget of refused resumes an address is refused unchecked.
    if (!resumeFailures.allows(connection.address, nowMs)) {
      transport.refuse(connection, "resume_failed", RESUME_REFUSED, "resume", nowMs);
      return;
    }
    if (this.#local.has(connection.id)) {
      resumeFailures.take(connection.address, nowMs);
      transport.refuse(connection, "resume_failed", RESUME_REFUSED, "resume", nowMs);
      return;
    }
    if (!link.ready) {
      this.#refuseUnavailable(connection, "resume");
      return;
    }
    const nextToken = newResumeToken();
    const reply = (await link.run("resume", id, tokenHash(token), tokenHash(nextToken), node)) as string[];
    if (reply[0] !== "ok") {
      resumeFailures.take(connection.address, performance.now());
      if (transport.isOpen(connection)) {
        transport.refuse(connection, "resume_failed", RESUME_REFUSED, "resume");
      }
      return;
    }
    const [, room = "", username = "", listJson = "[]"] = reply;
    this.#options.timers.cancel(graceTimerId(id));
    const session: LocalSession = { id, room, username, cursor: "0-0", reading: false, readAgain: false, held: [] };
    this.#local.set(id, session);
    if (!transport.isOpen(connection)) {
      // Taken over, and gone already: suspended here like any lost socket.
      this.#suspend(id);
      return;
    }
    transport.adopt(connection, id);
    const resumed: Extract<ServerMessage, { type: "resumed" }> = {
      type: "resumed",
      id,
      ...this.#options.iceServersFor(id),
      resumeToken: nextToken,
      room,
      username,
      list: JSON.parse(listJson) as Participant[],
      grants: { ...CLUSTER_GRANTS },
      roomState: { ...CLUSTER_ROOM_STATE, hosts: [] },
    };
    transport.reply(connection, resumed);
    this.#read(session);
  }

  /**
   * Session `id`'s socket is gone: suspended on an abrupt loss (Redis keeps it for any node to
   * resume, this node's timer ends it), ended at once otherwise.
   */
  lost(id: string, loss: SessionLoss): void {
    const session = this.#local.get(id);
    if (session === undefined) {
      return;
    }
    if (session.room === undefined) {
      // Its join is in flight: the join gives the seat back when it sees the socket closed.
      this.#local.delete(id);
      return;
    }
    const { graceMs, transport } = this.#options;
    if (graceMs > 0 && !transport.shuttingDown && suspendsOnClose(loss.code, loss.closedByServer, loss.reason)) {
      this.#suspend(id);
    } else {
      void this.#end(id);
    }
  }

  /** A message on this node's wake channel: inboxes to read, or a session taken over elsewhere. */
  wake(message: string): void {
    const ids = message.split(" ");
    if (ids[0] === "t") {
      this.#takenOver(ids[1] ?? "");
      return;
    }
    for (let index = 1; index < ids.length; index += 1) {
      const session = this.#local.get(ids[index] ?? "");
      if (session !== undefined) {
        this.#read(session);
      }
    }
  }

  /** The wake channel is subscribed (again): wakes may have been lost meanwhile, so every inbox is read. */
  subscribed(): void {
    for (const session of this.#local.values()) {
      this.#read(session);
    }
  }

  /** Stops the heartbeat and ends this node's sessions (a shutdown closes every socket with 1012 first). */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearInterval(this.#heartbeat);
    await Promise.all([...this.#local.keys()].map((id) => this.#end(id)));
  }

  #refuseUnavailable(sender: Connection, type: string): void {
    this.#options.transport.refuse(sender, "cluster_unavailable", "this node cannot reach Redis right now; try again in a few seconds", type);
  }

  /** Marks `id` suspended in Redis and starts this node's grace timer, which ends it unless resumed. */
  #suspend(id: string): void {
    const { link, node, graceMs, timers, failures } = this.#options;
    link.run("suspend", id, node, graceMs).catch((error: unknown) => failures.report("cluster suspend", error));
    timers.start(graceTimerId(id), graceMs, "grace timer", () => {
      void link.run("leave", id, node, "suspended").then(
        (outcome) => {
          // Unless a resume won the race, the session is over (ended now, or gone elsewhere).
          if (outcome !== "resumed" && !this.#options.transport.isConnected(id)) {
            this.#forget(id);
          }
        },
        (error: unknown) => failures.report("cluster grace", error),
      );
    });
  }

  /** Ends session `id` (its room's other members are told through their inboxes). */
  async #end(id: string): Promise<void> {
    const { link, node, failures } = this.#options;
    this.#forget(id);
    try {
      await link.run("leave", id, node, "any");
    } catch (error) {
      failures.report("cluster leave", error);
    }
  }

  /** Drops what this node holds for `id`. */
  #forget(id: string): void {
    this.#local.delete(id);
    this.#options.timers.cancel(graceTimerId(id));
    this.#options.forgetIceServers(id);
  }

  /** Session `id` was resumed on another node: its socket here is stale (4004), its close no loss. */
  #takenOver(id: string): void {
    if (!this.#local.has(id)) {
      return;
    }
    this.#local.delete(id);
    this.#options.timers.cancel(graceTimerId(id));
    this.#options.transport.closeTakenOver(id);
  }

  /** Reads `session`'s inbox onto its socket, unless it is being read already or has no socket. */
  #read(session: LocalSession): void {
    if (session.reading) {
      session.readAgain = true;
      return;
    }
    if (!this.#options.transport.isConnected(session.id)) {
      return;
    }
    session.reading = true;
    this.#readLoop(session).catch((error: unknown) => {
      session.reading = false;
      this.#options.failures.report("cluster inbox", error);
    });
  }

  async #readLoop(session: LocalSession): Promise<void> {
    const { link, node, transport } = this.#options;
    for (;;) {
      session.readAgain = false;
      const reply = (await link.run("read", session.id, node, session.cursor, READ_BATCH)) as string[];
      if (this.#local.get(session.id) !== session) {
        return;
      }
      if (reply[0] === "moved") {
        this.#takenOver(session.id);
        return;
      }
      if (reply[0] === "gone") {
        // Ended elsewhere (this node was taken for dead): the client starts again.
        this.#forget(session.id);
        transport.close(session.id, CLOSE_CODES.service_restart, "this node lost its sessions; join again");
        return;
      }
      if (reply[0] === "lost") {
        // More was addressed to it than an inbox holds: resuming would miss messages.
        await this.#end(session.id);
        transport.close(session.id, CLOSE_CODES.backpressure, "too many messages waited for this participant");
        return;
      }
      const ids: string[] = [];
      for (let index = 1; index + 1 < reply.length; index += 2) {
        ids.push(reply[index] as string);
        transport.sendFrame(session.id, reply[index + 1] as string);
      }
      if (ids.length > 0) {
        session.cursor = ids[ids.length - 1] as string;
        // Deleted once the outbox has written them (it writes after this turn's poll phase).
        setImmediate(() => link.acknowledge(session.id, ids));
      }
      if (!session.readAgain && ids.length < READ_BATCH) {
        break;
      }
    }
    for (const frame of session.held) {
      transport.sendFrame(session.id, frame);
    }
    session.held = [];
    session.reading = false;
  }

  /** One heartbeat: the node's score, the reaper, the inbox figures. Skipped while Redis is away. */
  async #beat(): Promise<void> {
    const { link, node, deadAfterMs, graceMs, log } = this.#options;
    if (!link.ready) {
      this.#connectedSinceMs = undefined;
      return;
    }
    if (this.#beating) {
      return;
    }
    this.#beating = true;
    try {
      const startedMs = performance.now();
      this.#connectedSinceMs ??= startedMs;
      await link.run("heartbeat", node);
      link.rttMs = performance.now() - startedMs;
      // After an outage every node's last beat is old: reap only once the others had a whole
      // dead-after bound to beat again, so that an outage they all saw kills nobody.
      if (startedMs - this.#connectedSinceMs >= deadAfterMs) {
        const ended = (await link.run("reap", node, deadAfterMs + graceMs)) as string[];
        if (ended.length > 0) {
          this.#reapedSessions += ended.length;
          log(`node ${node}: ended ${ended.length} sessions of nodes silent for over ${deadAfterMs + graceMs} ms`);
        }
      }
      // A pipeline cut by a reconnection is given up by ioredis: the figures wait for the next beat.
      const lengths = await link.inboxLengths([...this.#local.keys()]).catch(() => undefined);
      if (lengths !== undefined) {
        this.#inboxEntries = lengths.reduce((total, length) => total + length, 0);
        this.#longestInbox = lengths.reduce((longest, length) => Math.max(longest, length), 0);
      }
    } finally {
      this.#beating = false;
    }
  }
}
