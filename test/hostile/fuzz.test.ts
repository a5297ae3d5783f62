/**
 * A bounded randomized fuzz of the signaling server: the real server on an ephemeral port, two dozen
 * raw WebSocket clients spread over a few rooms, each running a seeded random sequence of valid and
 * invalid operations (joins, leaves, relays to any target, malformed frames, forged identities,
 * resumes, logins, calls and watches, host requests, abrupt and clean disconnects).
 *
 * A seed fixes each client's stream of random draws (mulberry32, one stream per client). How the
 * draws turn into operations also depends on what the server answered (a join that found the room
 * full changes what that client does next), and the interleaving of the clients is left to the
 * network: a replay repeats the same kinds of operations in the same proportions, not the same
 * byte-for-byte run. So every check below is one that must hold for any interleaving:
 * - the server keeps answering (`/healthz` 200 throughout, a `pong` for every barrier, no internal
 *   error counted in `/metrics`, no exception thrown into the process);
 * - no room traffic crosses rooms: every relayed message carries a marker naming the frame that
 *   sent it, and must reach only a member of the sender's room, stamped with the sender's real id
 *   and name whatever the frame forged; every member list names only members of the receiver's room;
 * - every client's view of its room, rebuilt from what it received, follows the server's events
 *   exactly and, once everything is quiet, equals the server's (a fresh observer's `connection_list`
 *   and the `/healthz` counts);
 * - the process's resident memory grows by a bounded amount.
 *
 * Replay a failure with `FUZZ_SEED=<seed> npx vitest run test/hostile/fuzz.test.ts`.
 */
import { describe, expect, it } from "vitest";
import { ERROR_CODES, type ServerMessage } from "../../shared/protocol/index.ts";
import { startServer, type RunningServer } from "../../server/server.ts";
import { TestClient } from "../support/ws-client.ts";
import { LOOPBACK_TEST_LIMITS } from "../support/loopback-limits.ts";
import { mulberry32 } from "../support/seeded-random.ts";

/** Seed used on every run; a second, time-derived seed is added unless `FUZZ_SEED` is set. */
const DEFAULT_SEED = 0x5eed_2024;
const CLIENT_COUNT = 24;
const ROOM_CAPACITY = 8;
const STEPS_PER_CLIENT = 90;
const MAX_MESSAGE_BYTES = 64 * 1024;
/** Frames above this are dropped by the transport itself (server.ts: HARD_FRAME_CAP_FACTOR). */
const HARD_FRAME_CAP_BYTES = 4 * MAX_MESSAGE_BYTES;
/** Generous: a barrier that takes this long means the server stopped answering. */
const BARRIER_TIMEOUT_MS = 20_000;
const QUIESCENCE_TIMEOUT_MS = 20_000;
/** A bound, not a goal: what the fuzz may add to the process's resident memory. */
const MAX_RSS_GROWTH_BYTES = 200 * 1024 * 1024;
/** Rooms the clients join; the last two test the extremes of the room-name pattern. */
const ROOMS = ["alpha", "beta", "g-1_Z", "x".repeat(64)] as const;
const ROOM_WEIGHTS = [35, 30, 25, 10] as const;
/**
 * User ids for `login`/`call`: few, so that logins collide: refused `user_online`, or, with the
 * reclaim key a client saw, taking each other over (close 4003).
 */
const USER_IDS = ["alice", "bob", "carol", "dave", "  eve  "] as const;

/** Draws from one seeded stream. */
class Random {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }

  chance(p: number): boolean {
    return this.#next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** Index chosen with the given weights. */
  weighted(weights: readonly number[]): number {
    let roll = this.#next() * weights.reduce((sum, weight) => sum + weight, 0);
    for (let index = 0; index < weights.length; index += 1) {
      roll -= weights[index] as number;
      if (roll < 0) {
        return index;
      }
    }
    return weights.length - 1;
  }

  /** A string of `length` nanoid-alphabet characters: shaped like a participant id, belonging to nobody. */
  id(length = 21): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let out = "";
    for (let index = 0; index < length; index += 1) {
      out += alphabet[this.int(alphabet.length)];
    }
    return out;
  }
}

/** The room tag every valid username ends with, so any member list can be checked for strangers. */
function roomTag(room: string): string {
  const index = ROOMS.indexOf(room as (typeof ROOMS)[number]);
  return `@r${index}`;
}

/** One relayed frame as the test sent it: who sent it, from which room, under which name. */
interface SentRelay {
  senderId: string | undefined;
  room: string | undefined;
  username: string | undefined;
}

/** One WebSocket a slot opened; its whole received stream is checked at the end. */
interface Connection {
  client: TestClient;
  slot: number;
  /** `t` of the pings sent right after a `close_connection`: past their `pong`, the client is in no room. */
  leaveBarriers: Set<number>;
  /** The participant id the server gave this connection; it never changes, across leaves and joins. */
  id?: string;
}

/** One simulated user: at most one connection at a time, reconnecting after each close. */
interface Slot {
  index: number;
  random: Random;
  connection?: Connection;
  /** What the test knows for sure (confirmed by a barrier): the participant id and room. */
  id?: string;
  room?: string;
  username?: string;
  resumeToken?: string;
  /** Set after an abrupt disconnect from a room while resumption is on: what a `resume` needs. */
  suspended?: { id: string; token: string };
}

/** Counters printed at the end so that a run's coverage is visible. */
interface Stats {
  ops: Map<string, number>;
  relaysSent: number;
  relaysDelivered: number;
  errors: Map<string, number>;
  closes: Map<number, number>;
  joins: number;
  resumes: number;
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Polls `condition` until it holds; the fuzz's only wait that is not on a message. */
async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = QUIESCENCE_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Health {
  rooms: number;
  participants: number;
  connections: number;
  suspendedParticipants: number;
}

async function health(server: RunningServer): Promise<{ status: number; body: Health }> {
  const response = await fetch(`${server.httpUrl}/healthz`);
  return { status: response.status, body: (await response.json()) as Health };
}

/** One fuzz run against its own server. */
class Fuzz {
  readonly slots: Slot[] = [];
  readonly connections: Connection[] = [];
  readonly sent: SentRelay[] = [];
  readonly stats: Stats = { ops: new Map(), relaysSent: 0, relaysDelivered: 0, errors: new Map(), closes: new Map(), joins: 0, resumes: 0 };
  /** Every participant id seen, for stale targets and forged fields. */
  readonly seenIds: string[] = [];
  /** user id (as the server answered it) → the last reclaim key any client was given for it. */
  readonly reclaimKeys = new Map<string, string>();
  /** Every watch id any client was told of, for answers and stops from anyone. */
  readonly watchIds: string[] = [];
  #nextPingT = 1;

  constructor(readonly server: RunningServer, readonly seed: number, readonly resumeGraceMs: number) {
    for (let index = 0; index < CLIENT_COUNT; index += 1) {
      this.slots.push({ index, random: new Random((seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0) });
    }
  }

  /** Runs every slot's sequence concurrently. */
  async run(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.runSlot(slot)));
  }

  async runSlot(slot: Slot): Promise<void> {
    for (let step = 0; step < STEPS_PER_CLIENT; step += 1) {
      await this.step(slot);
      // Let the other clients and the server run between two operations of one client.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Forgets a connection the server or the test closed, and the room it was in. */
  noteClosed(slot: Slot): void {
    if (slot.connection && slot.connection.client.closeCode !== undefined) {
      slot.connection = undefined;
      slot.room = undefined;
      slot.id = undefined;
    }
  }

  async connect(slot: Slot): Promise<Connection> {
    const client = await TestClient.connect(this.server.wsUrl);
    client.socket.on("message", (data, isBinary) => {
      const message = isBinary ? undefined : (JSON.parse(data.toString()) as ServerMessage);
      if (message?.type === "loginResponse" && message.content === "accepted") {
        this.reclaimKeys.set(message.userID, message.reclaimKey);
      }
      if (message?.type === "watchRequest" || message?.type === "watchRequested" || message?.type === "watchStarted") {
        this.watchIds.push(message.watchId);
      }
    });
    const connection: Connection = { client, slot: slot.index, leaveBarriers: new Set() };
    this.connections.push(connection);
    slot.connection = connection;
    return connection;
  }

  /**
   * Sends a ping and waits for its pong (every frame sent before it was handled) or for the close.
   * Returns the messages received meanwhile, starting at `from`.
   */
  async barrier(connection: Connection, from: number, leave = false): Promise<ServerMessage[]> {
    const t = this.#nextPingT++;
    if (leave) {
      connection.leaveBarriers.add(t);
    }
    const { client } = connection;
    if (client.closeCode === undefined) {
      client.send({ type: "ping", t });
      await waitForMessage(client, (message) => message.type === "pong" && message.t === t);
    }
    return client.received.slice(from);
  }

  async step(slot: Slot): Promise<void> {
    this.noteClosed(slot);
    const { random } = slot;
    const connection = slot.connection ?? (await this.reconnect(slot));
    if (!connection) {
      return;
    }
    // Out of a room, joining is what a client mostly does; the rest still happens, and is refused.
    const inRoom = slot.room !== undefined;
    const ops: Array<[number, string, () => Promise<void> | void]> = [
      [inRoom ? 4 : 40, "join", () => this.join(slot, connection)],
      [4, "join_invalid", () => this.joinInvalid(slot, connection)],
      [5, "leave", () => this.leave(slot, connection)],
      [inRoom ? 40 : 8, "relay", () => this.relay(slot, connection, "member")],
      [8, "relay_elsewhere", () => this.relay(slot, connection, random.pick(["self", "other_room", "stale", "unknown", "invalid"] as const))],
      [8, "malformed", () => this.malformed(slot, connection)],
      [3, "ping", () => connection.client.send(random.chance(0.5) ? { type: "ping" } : { type: "ping", t: -random.int(1000) - 0.5 })],
      [3, "resume_garbage", () => this.resumeGarbage(slot, connection)],
      [2, "refresh_ice_servers", () => connection.client.send({ type: "refresh_ice_servers" })],
      [5, "call_family", () => this.callFamily(slot, connection)],
      [3, "watch_family", () => this.watchFamily(slot, connection)],
      [inRoom ? 4 : 1, "host_family", () => this.hostFamily(slot, connection)],
      [3, "terminate", () => this.terminate(slot, connection)],
      [2, "close", () => this.closeCleanly(slot, connection)],
    ];
    const [, name, op] = ops[random.weighted(ops.map(([weight]) => weight))] as (typeof ops)[number];
    bump(this.stats.ops, name);
    await op();
  }

  /** A new connection for a slot whose previous one closed: `resume` when it can, else nothing yet. */
  async reconnect(slot: Slot): Promise<Connection | undefined> {
    const connection = await this.connect(slot);
    const suspended = slot.suspended;
    slot.suspended = undefined;
    if (suspended && slot.random.chance(0.7)) {
      const from = connection.client.received.length;
      connection.client.send({ type: "resume", id: suspended.id, resumeToken: suspended.token });
      const replies = await this.barrier(connection, from);
      const resumed = replies.find((message) => message.type === "resumed");
      if (resumed?.type === "resumed") {
        this.stats.resumes += 1;
        expect(resumed.id).toBe(suspended.id);
        connection.id = resumed.id;
        slot.id = resumed.id;
        slot.room = resumed.room;
        slot.resumeToken = resumed.resumeToken;
        slot.username = resumed.username;
      }
    }
    this.noteClosed(slot);
    return slot.connection;
  }

  /** A valid join (or `already_in_room` when in one), with names at the edges of what is allowed. */
  async join(slot: Slot, connection: Connection): Promise<void> {
    const { random } = slot;
    const room = ROOMS[random.weighted(ROOM_WEIGHTS)] as string;
    const tag = roomTag(room);
    const core = random.pick([
      `u${slot.index}`,
      `Zoë 🎧 ${slot.index}`,
      "L".repeat(64 - tag.length),
      `<script>${slot.index}</script>`,
    ]);
    const padded = random.chance(0.2) ? `  ${core}${tag}\t` : `${core}${tag}`;
    const message: Record<string, unknown> = { type: "new_user", room, username: padded };
    if (random.chance(0.2)) {
      message.protocolVersion = 1;
    }
    if (random.chance(0.2)) {
      // Forged identity: unknown fields are dropped, the id is the server's.
      message.id = random.pick(this.seenIds.length > 0 ? this.seenIds : ["forged"]);
    }
    const from = connection.client.received.length;
    connection.client.send(message);
    const replies = await this.barrier(connection, from);
    const joined = replies.find((reply) => reply.type === "joined");
    if (joined?.type === "joined") {
      this.stats.joins += 1;
      expect(slot.room, "joined while the test believed it was in a room").toBeUndefined();
      expect(joined.room).toBe(room);
      expect(joined.username).toBe(padded.trim());
      expect(joined.roomCapacity).toBe(ROOM_CAPACITY);
      // Whatever `id` the frame forged, the connection keeps the one the server gave it.
      expect(joined.id).toBe(connection.id ?? joined.id);
      connection.id = joined.id;
      slot.id = joined.id;
      slot.room = room;
      slot.username = joined.username;
      slot.resumeToken = joined.resumeToken;
      this.seenIds.push(joined.id);
    }
    this.noteClosed(slot);
  }

  /** A `new_user` the schema refuses; nothing may change. */
  async joinInvalid(slot: Slot, connection: Connection): Promise<void> {
    const { random } = slot;
    const message = random.pick<Record<string, unknown>>([
      { type: "new_user", room: "", username: "a@r0" },
      { type: "new_user", room: "has space", username: "a@r0" },
      { type: "new_user", room: "x".repeat(65), username: "a@r0" },
      { type: "new_user", room: "ümlaut", username: "a@r0" },
      { type: "new_user", room: "../alpha", username: "a@r0" },
      { type: "new_user", room: 42, username: "a@r0" },
      { type: "new_user", room: "alpha" },
      { type: "new_user", room: "alpha", username: "" },
      { type: "new_user", room: "alpha", username: "   " },
      { type: "new_user", room: "alpha", username: "bad\u0001@r0" },
      { type: "new_user", room: "alpha", username: "x".repeat(65) },
      { type: "new_user", room: "alpha", username: null },
      { type: "new_user", room: "alpha", username: "v@r0", protocolVersion: 2 },
      { type: "new_user", room: "alpha", username: "v@r0", protocolVersion: 1.5 },
      { type: "new_user", room: "alpha", username: "v@r0", protocolVersion: "1" },
      { type: "new_user", room: ["alpha"], username: "a@r0" },
    ]);
    const from = connection.client.received.length;
    connection.client.send(message);
    const replies = await this.barrier(connection, from);
    expect(replies.some((reply) => reply.type === "joined"), `an invalid new_user was accepted: ${JSON.stringify(message)}`).toBe(false);
    this.noteClosed(slot);
  }

  /** `close_connection`; past the barrier's pong the client is in no room. */
  async leave(slot: Slot, connection: Connection): Promise<void> {
    const from = connection.client.received.length;
    connection.client.send({ type: "close_connection" });
    slot.room = undefined;
    await this.barrier(connection, from, true);
    this.noteClosed(slot);
  }

  /** A target of the given kind, resolved against what the test knows now. */
  target(slot: Slot, kind: "member" | "self" | "other_room" | "stale" | "unknown" | "invalid"): string {
    const { random } = slot;
    const others = (inRoom: (room: string | undefined) => boolean): string[] =>
      this.slots.filter((other) => other !== slot && other.id !== undefined && other.room !== undefined && inRoom(other.room)).map((other) => other.id as string);
    switch (kind) {
      case "member": {
        const members = others((room) => room === slot.room);
        return members.length > 0 ? random.pick(members) : random.id();
      }
      case "self":
        return slot.id ?? random.id();
      case "other_room": {
        const strangers = others((room) => room !== slot.room);
        return strangers.length > 0 ? random.pick(strangers) : random.id();
      }
      case "stale":
        return this.seenIds.length > 0 ? random.pick(this.seenIds) : random.id();
      case "unknown":
        return random.id(random.pick([1, 21, 64]));
      case "invalid":
        return random.pick(["", "has space", "x".repeat(65), "ü", "../x"]);
    }
  }

  /** Records a relayed frame and returns its marker. */
  mark(slot: Slot): string {
    this.sent.push({ senderId: slot.id, room: slot.room, username: slot.username });
    this.stats.relaysSent += 1;
    return `fz:${this.sent.length - 1}:`;
  }

  /** A relay frame of a random type carrying `marker`, with forged fields now and then. */
  relayFrame(slot: Slot, targetId: string, marker: string, padding = ""): Record<string, unknown> {
    const { random } = slot;
    const type = random.pick(["send_offer", "send_aswer", "new_candidate"] as const);
    // Key order varies so that both the verbatim fast path and the re-serializing path run.
    const frame: Record<string, unknown> = random.chance(0.5) ? { type, targetId } : { targetId, type };
    if (type === "new_candidate") {
      frame.ice = random.chance(0.5)
        ? { candidate: `candidate:${marker} 1 udp 2122260223 127.0.0.1 50000 typ host${padding}`, sdpMid: "0", sdpMLineIndex: 0 }
        : { candidate: `candidate:${marker}${padding}`, sdpMid: null, sdpMLineIndex: null, usernameFragment: null };
    } else {
      frame.sdp = { type: type === "send_offer" ? "offer" : "answer", sdp: `v=0\r\no=- ${marker} 2 IN IP4 127.0.0.1\r\n${padding}` };
    }
    if (random.chance(0.15)) {
      frame.id = this.target(slot, "other_room");
    }
    if (random.chance(0.15)) {
      frame.username = `forged${slot.room ? roomTag(slot.room) : "@r0"}`;
    }
    if (random.chance(0.1)) {
      frame.evil = { __proto__: { polluted: true } };
    }
    return frame;
  }

  relay(slot: Slot, connection: Connection, kind: Parameters<Fuzz["target"]>[1]): void {
    const targetId = this.target(slot, kind);
    connection.client.send(this.relayFrame(slot, targetId, this.mark(slot)));
  }

  /** Frames the server must refuse (or, for the near-limit relay, accept) without harm. */
  async malformed(slot: Slot, connection: Connection): Promise<void> {
    const { random } = slot;
    const { client } = connection;
    const target = this.target(slot, "member");
    const choice = random.int(24);
    switch (choice) {
      case 0: client.send("{not json"); break;
      case 1: client.send(random.pick(["[]", "null", "42", "\"send_offer\"", "", "{}", "true"])); break;
      case 2: client.send({ type: random.pick([7, null, ["ping"], { ping: 1 }, true]) }); break;
      case 3: client.send({ type: random.pick(["nonsense", "__proto__", "constructor", "toString", "hasOwnProperty", "PING", "send_answer", "joined", "connection_list", "x".repeat(5000)]) }); break;
      case 4: client.send({ type: random.pick(["send_offer", "send_aswer", "new_candidate", "resume", "login", "call", "incomingCallResponse", "onIceCandidate"]) }); break;
      case 5: client.send({ type: "send_offer", targetId: random.pick([5, null, { id: target }, [target]]), sdp: { type: "offer", sdp: "x" } }); break;
      case 6: client.send({ type: "send_offer", targetId: target, sdp: random.pick([{ type: "answer", sdp: "x" }, { type: "offer" }, "v=0", null, { type: "offer", sdp: 5 }]) }); break;
      case 7: client.send({ type: "new_candidate", targetId: target, ice: random.pick([{ candidate: 1 }, { candidate: "c", sdpMLineIndex: -1 }, { candidate: "c", sdpMLineIndex: 0.5 }, { candidate: "c", sdpMid: 3 }, "candidate", null]) }); break;
      case 8: client.send({ type: "ping", t: random.pick(["x", null, {}, [1]]) }); break;
      case 9: client.send(`{"type":"send_offer","__proto__":{"targetId":"${target}","sdp":{"type":"offer","sdp":"p"}}}`); break;
      case 10: client.send(`{"type":"ping","t":${"[".repeat(2000)}${"]".repeat(2000)}}`); break;
      // A duplicate key: JSON keeps the last one, so this is a leave.
      case 11: client.send(`{"type":"ping","type":"close_connection"}`); break;
      case 12: {
        // A valid relay within a few bytes of the size limit: accepted and relayed whole.
        const frame = this.relayFrame(slot, target, this.mark(slot), "");
        const room = MAX_MESSAGE_BYTES - Buffer.byteLength(JSON.stringify(frame)) - random.int(64) - 8;
        client.send(this.withPadding(frame, "a".repeat(Math.max(0, room))));
        break;
      }
      case 13: client.send({ type: "send_offer", targetId: target, sdp: { type: "offer", sdp: "b".repeat(MAX_MESSAGE_BYTES + random.int(3 * MAX_MESSAGE_BYTES - 100)) } }); break;
      case 14: client.socket.send(Buffer.from(JSON.stringify({ type: "ping" }))); break;
      case 15: client.socket.send(Buffer.alloc(random.int(100) + 1, random.int(256))); break;
      // A leave naming someone else leaves the sender itself.
      case 16: client.send({ type: "close_connection", id: target }); break;
      case 17: client.send({ type: "new_user", room: "alpha", username: "u".repeat(MAX_MESSAGE_BYTES - 60) }); break;
      case 18: client.send({ type: "login", userID: random.pick(["", "   ", "a\u0007b", "x".repeat(65), 5]) }); break;
      case 19: client.send({ type: "login", userID: "ok", avatar: random.pick(["javascript:alert(1)", "data:x", "x".repeat(3000)]) }); break;
      case 20: client.send("\u0000\uffff\ud800"); break;
      case 21: client.send({ type: "send_offer", targetId: target, sdp: { type: "offer", sdp: `${this.mark(slot)}\ud800\udfff\u2028\u0000\ud800x` } }); break;
      case 22:
        // Rare frames that end the connection at the transport: above the hard cap, invalid UTF-8.
        if (random.chance(0.3)) {
          client.socket.send(Buffer.alloc(HARD_FRAME_CAP_BYTES + 1 + random.int(1000), 0x20), { binary: false });
        } else {
          client.socket.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
        }
        break;
      default: client.send({ type: "refresh_ice_servers", extra: "x".repeat(random.int(1000)) }); break;
    }
    // A frame that leaves the room (11, 16) or ends the connection (22) must not be followed by
    // relays the test would attribute to that room: wait until it is handled.
    if (choice === 11 || choice === 16) {
      slot.room = undefined;
      await this.barrier(connection, client.received.length, true);
    } else if (choice === 22) {
      slot.room = undefined;
      await waitForMessage(client, () => false);
      expect(client.closeCode, "the transport kept a connection that broke the WebSocket protocol").toBeDefined();
    }
    this.noteClosed(slot);
  }

  /** `frame` with `padding` appended to the text that carries its marker (SDP or candidate). */
  withPadding(frame: Record<string, unknown>, padding: string): Record<string, unknown> {
    if (typeof frame.ice === "object" && frame.ice !== null) {
      const ice = frame.ice as { candidate: string };
      return { ...frame, ice: { ...ice, candidate: ice.candidate + padding } };
    }
    const sdp = frame.sdp as { type: string; sdp: string };
    return { ...frame, sdp: { ...sdp, sdp: sdp.sdp + padding } };
  }

  /** `resume` that must fail: garbage, a live participant with a wrong token, or after a join. */
  async resumeGarbage(slot: Slot, connection: Connection): Promise<void> {
    const { random } = slot;
    const id = random.chance(0.5) && this.seenIds.length > 0 ? random.pick(this.seenIds) : random.id();
    const from = connection.client.received.length;
    connection.client.send({ type: "resume", id, resumeToken: random.pick([random.id(32), "x", "y".repeat(128)]) });
    const replies = await this.barrier(connection, from);
    expect(replies.some((reply) => reply.type === "resumed"), "a resume with a guessed token succeeded").toBe(false);
    this.noteClosed(slot);
  }

  /**
   * Call and presence messages with few user ids, so logins collide: half of them carry the last
   * reclaim key seen for that id (possibly stale), and replace each other (4003) when it is current.
   */
  callFamily(slot: Slot, connection: Connection): void {
    const { random } = slot;
    const { client } = connection;
    switch (random.int(6)) {
      case 0: {
        const userID = random.pick(USER_IDS);
        const reclaimKey = random.int(2) === 0 ? this.reclaimKeys.get(userID.trim()) : undefined;
        client.send({ type: "login", userID, username: `p${slot.index}`, ...(reclaimKey === undefined ? {} : { reclaimKey }) });
        break;
      }
      case 1: client.send({ type: "call", calleeID: random.pick(USER_IDS), sdpOffer: "v=0 call" }); break;
      case 2: client.send({ type: "incomingCallResponse", callerID: random.pick(USER_IDS), callResponse: random.pick(["accepted", "rejected", "exception"]), sdpAnswer: "v=0 answer" }); break;
      case 3: client.send({ type: "stop", reason: random.pick(["normal", "exception"]) }); break;
      case 4: client.send({ type: "stopCall" }); break;
      default: client.send({ type: "onIceCandidate", candidate: { candidate: "candidate:call 1 udp 1 127.0.0.1 9 typ host" } }); break;
    }
  }

  /**
   * Watch messages between the same few user ids: requests, answers, allow lists and stops from
   * anyone, naming watch ids that were really handed out (to others too) or never were.
   */
  watchFamily(slot: Slot, connection: Connection): void {
    const { random } = slot;
    const { client } = connection;
    const watchId = this.watchIds.length > 0 && random.chance(0.7) ? random.pick(this.watchIds) : random.id(random.pick([1, 21, 64]));
    switch (random.int(6)) {
      case 0:
        // Both sides must be logged in: a login first (refused `user_online` when the id is taken) makes that likely.
        client.send({ type: "login", userID: random.pick(USER_IDS), username: `w${slot.index}` });
        client.send({ type: "watch", userID: random.pick(USER_IDS) });
        break;
      case 1: client.send({ type: "watchAnswer", watchId, accept: random.chance(0.7) }); break;
      case 2: client.send({ type: "allowWatching", userID: random.chance(0.3) ? "*" : random.pick(USER_IDS), allow: random.chance(0.5) }); break;
      case 3: client.send({ type: "stopWatching", watchId }); break;
      case 4: client.send({ type: "watchDescription", watchId, sdp: { type: random.pick(["offer", "answer"]), sdp: "v=0 watch" } }); break;
      default: client.send({ type: "watchCandidate", watchId, candidate: { candidate: "candidate:watch 1 udp 1 127.0.0.1 9 typ host" } }); break;
    }
  }

  /**
   * Host requests, from hosts (the first member of a room hosts it) and from everyone else. Only
   * ones that leave every membership as it is: mutes of anyone, settings that unlock, clear the
   * password and turn the lobby off (no lobby ever holds anyone, so admissions and denials are
   * refused), and removals of ids that belong to nobody. The replay checks that `room_state` and
   * `mute_request` reach members only.
   */
  hostFamily(slot: Slot, connection: Connection): void {
    const { random } = slot;
    const { client } = connection;
    const anyone = (): string => this.target(slot, random.pick(["member", "self", "other_room", "stale", "unknown", "invalid"] as const));
    switch (random.int(6)) {
      case 0: client.send({ type: "mute_participant", targetId: anyone(), kind: random.pick(["audio", "video", "screen"]) }); break;
      case 1: client.send({ type: "room_settings", ...random.pick([{ locked: false }, { lobby: false }, { password: null }, { locked: false, lobby: false, password: null }, {}]) }); break;
      case 2: client.send({ type: "remove_participant", targetId: this.target(slot, random.pick(["unknown", "invalid"] as const)) }); break;
      case 3: client.send({ type: "lobby_admit", id: anyone() }); break;
      case 4: client.send({ type: "lobby_deny", id: anyone() }); break;
      default: client.send({ type: "room_settings", locked: random.pick(["yes", 1, null]), password: random.pick([5, "", "p".repeat(300)]) }); break;
    }
  }

  /** An abrupt disconnect (no close frame): a suspension while resumption is on, else a leave. */
  async terminate(slot: Slot, connection: Connection): Promise<void> {
    if (this.resumeGraceMs > 0 && slot.room !== undefined && slot.id !== undefined && slot.resumeToken !== undefined) {
      slot.suspended = { id: slot.id, token: slot.resumeToken };
    }
    connection.client.socket.terminate();
    await connection.client.closed;
    this.noteClosed(slot);
  }

  async closeCleanly(slot: Slot, connection: Connection): Promise<void> {
    await connection.client.close();
    this.noteClosed(slot);
  }
}

/** Waits until `client` has received a message matching `where`, or has closed. */
async function waitForMessage(client: TestClient, where: (message: ServerMessage) => boolean): Promise<void> {
  const deadline = Date.now() + BARRIER_TIMEOUT_MS;
  let checked = 0;
  for (;;) {
    for (; checked < client.received.length; checked += 1) {
      if (where(client.received[checked] as ServerMessage)) {
        return;
      }
    }
    if (client.closeCode !== undefined) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`no answer within ${BARRIER_TIMEOUT_MS} ms: the server stopped answering`);
    }
    // The client records messages from socket events: yield to them.
    await new Promise<void>((resolve) => {
      const onEvent = (): void => {
        clearTimeout(timer);
        client.socket.off("message", onEvent);
        client.socket.off("close", onEvent);
        setImmediate(resolve);
      };
      const timer = setTimeout(onEvent, 200);
      client.socket.on("message", onEvent);
      client.socket.on("close", onEvent);
    });
  }
}

/** Where one connection's received stream left it. */
interface FinalView {
  id: string | undefined;
  room: string | undefined;
  /** Member ids in the order of the last list received. */
  view: string[];
}

/**
 * Replays one connection's received stream, checking every room message against the client's own
 * picture of its room; returns where it ended. Failures name the connection and the message index.
 */
function replay(fuzz: Fuzz, connection: Connection, delivered: Set<number>, roomsById: Map<string, Set<string>>): FinalView {
  let id: string | undefined;
  let room: string | undefined;
  let view: string[] = [];
  /** After `resumed`, buffered messages replay older states: only the latest list is trusted. */
  let resumed = false;
  /** `joined` must be followed by the room's `connection_list` naming the joiner first. */
  let awaitingFirstList = false;
  const where = (index: number): string => `slot ${connection.slot}, connection ${fuzz.connections.indexOf(connection)}, message ${index}`;
  const checkList = (list: Array<{ id: string; username: string }>, index: number): void => {
    expect(room, `${where(index)}: a member list reached a client in no room`).toBeDefined();
    for (const member of list) {
      expect(member.username.endsWith(roomTag(room as string)), `${where(index)}: ${member.username} of another room listed in ${room}`).toBe(true);
    }
    expect(list.map((member) => member.id), `${where(index)}: own id missing from its room's list`).toContain(id);
  };
  connection.client.received.forEach((message, index) => {
    switch (message.type) {
      case "joined":
        expect(room, `${where(index)}: joined while in a room`).toBeUndefined();
        ({ id, room } = message);
        view = [];
        resumed = false;
        awaitingFirstList = true;
        return;
      case "resumed":
        expect(room, `${where(index)}: resumed on a connection already in a room`).toBeUndefined();
        ({ id, room } = message);
        view = (message.list ?? []).map((member) => member.id);
        checkList(message.list ?? [], index);
        resumed = true;
        return;
      case "connection_list": {
        checkList(message.list, index);
        const ids = message.list.map((member) => member.id);
        expect(ids.at(-1), `${where(index)}: the newcomer is not last in join order`).toBe(message.newUserId);
        if (awaitingFirstList) {
          expect(message.newUserId, `${where(index)}: the first list after joined is about someone else`).toBe(id);
          awaitingFirstList = false;
        } else if (!resumed) {
          expect(ids, `${where(index)}: connection_list is not the previous view plus the newcomer`).toEqual([...view, message.newUserId]);
        }
        view = ids;
        return;
      }
      case "close_connection":
        expect(room, `${where(index)}: close_connection reached a client in no room`).toBeDefined();
        expect(awaitingFirstList, `${where(index)}: close_connection before the joiner's connection_list`).toBe(false);
        expect(message.id, `${where(index)}: told that itself left`).not.toBe(id);
        if (resumed) {
          // Buffered leaves may name someone already gone from `resumed.list`, but never a stranger.
          expect([...(roomsById.get(message.id) ?? [])], `${where(index)}: close_connection names someone never in ${room}`).toContain(room);
        } else {
          expect(view, `${where(index)}: close_connection names someone not in the room`).toContain(message.id);
        }
        view = view.filter((member) => member !== message.id);
        return;
      case "rest_connection_list": {
        checkList(message.list, index);
        const ids = message.list.map((member) => member.id);
        if (!resumed) {
          expect(ids, `${where(index)}: rest_connection_list differs from the view after the leave`).toEqual(view);
        }
        view = ids;
        return;
      }
      case "send_offer":
      case "send_aswer":
      case "new_candidate": {
        const text = message.type === "new_candidate" ? message.ice.candidate : message.sdp.sdp;
        const marker = /fz:(\d+):/.exec(text);
        expect(marker, `${where(index)}: a relay without the test's marker`).not.toBeNull();
        const sequence = Number(marker?.[1]);
        const sent = fuzz.sent[sequence];
        expect(room, `${where(index)}: relay ${sequence} reached a client in no room`).toBeDefined();
        expect(sent?.room, `${where(index)}: relay ${sequence} crossed rooms`).toBe(room);
        expect(message.id, `${where(index)}: relay ${sequence} not stamped with its real sender`).toBe(sent?.senderId);
        expect(message.username, `${where(index)}: relay ${sequence} not stamped with its sender's name`).toBe(sent?.username);
        expect(message.targetId, `${where(index)}: relay ${sequence} reached someone it was not for`).toBe(id);
        expect("evil" in message, `${where(index)}: an unknown field was relayed`).toBe(false);
        expect(delivered.has(sequence), `${where(index)}: relay ${sequence} delivered twice`).toBe(false);
        delivered.add(sequence);
        return;
      }
      case "pong":
        if (message.t !== undefined && connection.leaveBarriers.has(message.t)) {
          room = undefined;
          id = undefined;
          view = [];
        }
        return;
      case "room_state":
      case "mute_request":
        expect(room, `${where(index)}: ${message.type} reached a client in no room`).toBeDefined();
        return;
      case "removed":
        throw new Error(`${where(index)}: removed, though no host request named a member`);
      case "error":
        expect(Object.keys(ERROR_CODES), `${where(index)}: unknown error code`).toContain(message.code);
        expect(message.code, `${where(index)}: the server failed internally on ${message.refType}`).not.toBe("internal");
        bump(fuzz.stats.errors, message.code);
        return;
      default:
        // ice_servers and the call and presence families: not room traffic.
        return;
    }
  });
  return { id, room, view };
}

/** Runs one seeded fuzz and checks every invariant; returns a one-line summary. */
async function fuzzOnce(seed: number, resumeGraceMs: number): Promise<string> {
  const server = await startServer({
    ...LOOPBACK_TEST_LIMITS,
    host: "127.0.0.1",
    port: 0,
    iceServers: [],
    resumeGraceMs,
    roomCapacity: ROOM_CAPACITY,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    // Far above what a client here sends: a dropped `new_user` or `close_connection` would leave the
    // test unsure of a client's room. The error budget (close 4001) keeps its default and is hit.
    messagesPerSecond: 100_000,
    messageBurst: 100_000,
  });
  const healthFailures: string[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try {
        const { status } = await health(server);
        if (status !== 200) {
          healthFailures.push(`status ${status}`);
        }
      } catch (error) {
        healthFailures.push(String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const startedAtMs = performance.now();
  const rssBefore = process.memoryUsage.rss();
  const fuzz = new Fuzz(server, seed, resumeGraceMs);
  const observers: TestClient[] = [];
  try {
    await fuzz.run();
    const runMs = performance.now() - startedAtMs;

    // Quiescence. A first round of pings proves every client frame was handled; a login handled last
    // may still have queued a takeover close (4003) for another connection, which the second round
    // sees arrive. Then every socket the clients closed is gone on the server, every suspension is
    // over, and a last ping through each open connection proves the leaves they caused arrived.
    for (let round = 0; round < 2; round += 1) {
      await Promise.all(fuzz.connections.map((connection) => fuzz.barrier(connection, 0)));
    }
    const open = fuzz.connections.filter((connection) => connection.client.closeCode === undefined);
    await waitFor(async () => {
      const { body } = await health(server);
      return body.suspendedParticipants === 0 && body.connections === open.length;
    }, "closed sockets and suspensions to settle");
    for (const connection of open) {
      await fuzz.barrier(connection, 0);
      expect(connection.client.closeCode, `slot ${connection.slot}: closed during the final barrier`).toBeUndefined();
    }

    // Every stream, closed ones included, followed the server's events and stayed in its room.
    const roomsById = new Map<string, Set<string>>();
    for (const message of fuzz.connections.flatMap((connection) => connection.client.received)) {
      if ((message.type === "joined" || message.type === "resumed") && message.room !== undefined) {
        roomsById.set(message.id, (roomsById.get(message.id) ?? new Set()).add(message.room));
      }
    }
    const delivered = new Set<number>();
    const finals = new Map<Connection, FinalView>();
    for (const connection of fuzz.connections) {
      finals.set(connection, replay(fuzz, connection, delivered, roomsById));
      if (connection.client.closeCode !== undefined) {
        bump(fuzz.stats.closes, connection.client.closeCode);
      }
    }
    fuzz.stats.relaysDelivered = delivered.size;

    // Every open member's view equals the set of open connections that believe they are in that room.
    const members = new Map<string, Set<string>>();
    for (const connection of open) {
      const { id, room } = finals.get(connection) as FinalView;
      if (room !== undefined) {
        const set = members.get(room) ?? new Set<string>();
        set.add(id as string);
        members.set(room, set);
      }
    }
    /** One member's view of each room, in join order, to compare with the server's list. */
    const views = new Map<string, string[]>();
    for (const connection of open) {
      const { room, view } = finals.get(connection) as FinalView;
      if (room !== undefined) {
        expect(new Set(view), `slot ${connection.slot}: its view of ${room} differs from its room's members`).toEqual(members.get(room));
        expect(view, `slot ${connection.slot}: its view of ${room} is in another order than its peers'`).toEqual(views.get(room) ?? view);
        views.set(room, view);
      }
    }
    const participants = [...members.values()].reduce((sum, set) => sum + set.size, 0);
    const { status, body } = await health(server);
    expect(status).toBe(200);
    expect(body).toMatchObject({ participants, rooms: members.size, suspendedParticipants: 0, connections: open.length });

    // The server's own picture, through a fresh observer in each room: the same members, or full.
    for (const room of ROOMS) {
      const observer = await TestClient.connect(server.wsUrl);
      observers.push(observer);
      observer.send({ type: "new_user", room, username: `observer${roomTag(room)}` });
      await observer.sync();
      const expected = members.get(room) ?? new Set<string>();
      const reply = observer.pending().find((message) => message.type === "connection_list" || message.type === "error");
      if (reply?.type === "connection_list") {
        expect(reply.list.map((member) => member.id).filter((member) => member !== reply.newUserId), `the server's members of ${room}`).toEqual(views.get(room) ?? []);
        expect(reply.newUserId).toBe(reply.list.at(-1)?.id);
      } else {
        expect(reply?.type === "error" && reply.code).toBe("room_full");
        expect(expected.size, `${room} is full on the server but not in the clients' views`).toBe(ROOM_CAPACITY);
      }
    }

    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(metrics.split("\n").filter((line) => line.startsWith("webrtc_room_internal_errors_total{")), "internal errors counted").toEqual([]);
    expect(fuzz.stats.joins).toBeGreaterThan(0);
    expect(fuzz.stats.relaysDelivered).toBeGreaterThan(0);
    const rssGrowth = process.memoryUsage.rss() - rssBefore;
    expect(rssGrowth, "resident memory growth").toBeLessThan(MAX_RSS_GROWTH_BYTES);

    polling = false;
    await poller;
    expect(healthFailures, "/healthz failures during the run").toEqual([]);
    const { stats } = fuzz;
    return `seed ${seed} (resumeGraceMs ${resumeGraceMs}): ${Math.round(runMs)} ms, ${fuzz.connections.length} connections, `
      + `ops ${JSON.stringify(Object.fromEntries(stats.ops))}, ${stats.joins} joins, ${stats.resumes} resumes, ${fuzz.watchIds.length} watch ids handed out, ${stats.relaysSent} relays sent / ${stats.relaysDelivered} delivered, `
      + `errors ${JSON.stringify(Object.fromEntries(stats.errors))}, closes ${JSON.stringify(Object.fromEntries(stats.closes))}, `
      + `rss +${Math.round(rssGrowth / 1024 / 1024)} MiB, final participants ${participants}`;
  } finally {
    polling = false;
    await poller;
    for (const connection of fuzz.connections) {
      connection.client.socket.terminate();
    }
    for (const observer of observers) {
      observer.socket.terminate();
    }
    await server.close();
  }
}

const envSeed = process.env.FUZZ_SEED;
const SEEDS = envSeed !== undefined ? [Number(envSeed) >>> 0] : [DEFAULT_SEED, (Date.now() ^ (process.pid << 16)) >>> 0];

describe("the server under a bounded randomized fuzz", () => {
  describe.each([
    { variant: "with resumption off (an abrupt disconnect is a leave)", resumeGraceMs: 0 },
    { variant: "with a short resumption window (abrupt disconnects suspend, some resume)", resumeGraceMs: 400 },
  ])("$variant", ({ resumeGraceMs }) => {
    it.each(SEEDS)("keeps answering, never relays across rooms and keeps every view equal to the server's (seed %i)", async (seed) => {
      console.log(`fuzz: seed ${seed}, resumeGraceMs ${resumeGraceMs} (replay with FUZZ_SEED=${seed})`);
      const summary = await fuzzOnce(seed, resumeGraceMs);
      console.log(`fuzz: ${summary}`);
    });
  });
});
