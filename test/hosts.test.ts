/**
 * Host controls over real sockets (issue 11): grants and room state in `joined`, lock, password
 * (right, wrong, rate-limited, never echoed or logged), remove, mute request, lobby admit / deny /
 * full, hidden participants, open-mode host hand-over, token-mode host grant, and the `not_host`
 * refusal that changes nothing. A real server on an ephemeral port; raw WebSocket clients.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { ErrorCode, ServerMessage } from "../shared/protocol/index.ts";
import { startServer, type RunningServer } from "../server/server.ts";
import { mintToken, type JoinGrants } from "../server/tokens.ts";
import { LOOPBACK_TEST_LIMITS } from "./support/loopback-limits.ts";
import { TestClient, cutAndAwaitServer } from "./support/ws-client.ts";

const SECRET = "a-test-secret-of-more-than-32-bytes!";
const STUN = { urls: "stun:stun.example.org:3478" };

let openServer: RunningServer;
let tokenServer: RunningServer;
const clients: TestClient[] = [];
let roomCounter = 0;

/** A room name no other test uses (the password limit is per address and room, and all tests share 127.0.0.1). */
function freshRoom(): string {
  roomCounter += 1;
  return `hosts-${roomCounter}`;
}

async function connect(server: RunningServer = openServer): Promise<TestClient> {
  const client = await TestClient.connect(server.wsUrl);
  clients.push(client);
  return client;
}

/** Joins an open-mode room and waits for `joined`. */
async function joined(room: string, username: string, extra: object = {}): Promise<{ client: TestClient; id: string; message: Extract<ServerMessage, { type: "joined" }> }> {
  const client = await connect();
  client.send({ type: "new_user", room, username, ...extra });
  const message = await client.next("joined");
  return { client, id: message.id, message };
}

/** Sends `new_user` and waits for the refusal code. */
async function refusedJoin(client: TestClient, room: string, extra: object = {}): Promise<{ code: ErrorCode; message: string }> {
  client.send({ type: "new_user", room, username: "Late", ...extra });
  const error = await client.next("error", (message) => message.refType === "new_user");
  return { code: error.code, message: error.message };
}

/** A join token for the token-mode server. */
function joinToken(room: string, name: string, grants: Partial<JoinGrants> = {}): Promise<string> {
  return mintToken({ kind: "join", userId: `user-${name}`, room, name, grants: { publish: true, data: true, ...grants } }, SECRET, 600);
}

async function tokenJoined(room: string, name: string, grants: Partial<JoinGrants> = {}): Promise<{ client: TestClient; id: string; message: Extract<ServerMessage, { type: "joined" }> }> {
  const client = await connect(tokenServer);
  client.send({ type: "new_user", room, username: "ignored", token: await joinToken(room, name, grants) });
  const message = await client.next("joined");
  return { client, id: message.id, message };
}

beforeAll(async () => {
  const common = { ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [STUN], presenceWindowMs: 0 };
  [openServer, tokenServer] = await Promise.all([startServer({ ...common, auth: "open" }), startServer({ ...common, auth: "token", authSecret: SECRET })]);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  await Promise.all([openServer.close(), tokenServer.close()]);
});

describe("hosts in open mode (happy path)", () => {
  it("makes the first participant of a new room its host and states grants and room state in joined", async () => {
    const room = freshRoom();
    const host = await joined(room, "Ada");
    expect(host.message.grants).toEqual({ publish: true, data: true, host: true, hidden: false });
    expect(host.message.roomState).toEqual({ locked: false, passwordSet: false, lobby: false, hosts: [host.id] });
    const guest = await joined(room, "Bob");
    expect(guest.message.grants).toEqual({ publish: true, data: true, host: false, hidden: false });
    expect(guest.message.roomState.hosts).toEqual([host.id]);
  });

  it("hands hosting to the earliest remaining participant when the last host leaves", async () => {
    const room = freshRoom();
    const host = await joined(room, "Ada");
    const second = await joined(room, "Bob");
    const third = await joined(room, "Cy");
    host.client.send({ type: "close_connection" });
    for (const member of [second, third]) {
      expect(await member.client.next("room_state")).toEqual({ type: "room_state", locked: false, passwordSet: false, lobby: false, hosts: [second.id] });
    }
    second.client.send({ type: "room_settings", locked: true });
    expect((await third.client.next("room_state")).locked).toBe(true);
  });

  it("locks the room: a newcomer is refused room_locked until a host unlocks it", async () => {
    const room = freshRoom();
    const host = await joined(room, "Ada");
    const guest = await joined(room, "Bob");
    host.client.send({ type: "room_settings", locked: true });
    expect(await guest.client.next("room_state")).toMatchObject({ locked: true });
    expect(await host.client.next("room_state")).toMatchObject({ locked: true });
    const late = await connect();
    expect((await refusedJoin(late, room)).code).toBe("room_locked");
    host.client.send({ type: "room_settings", locked: false });
    await host.client.next("room_state", (state) => !state.locked);
    late.send({ type: "new_user", room, username: "Late" });
    expect((await late.next("joined")).grants.host).toBe(false);
  });

  it("refuses a non-host's host messages with not_host and changes nothing", async () => {
    const room = freshRoom();
    const host = await joined(room, "Ada");
    const guest = await joined(room, "Bob");
    const attempts = [
      { type: "room_settings", locked: true },
      { type: "room_settings", password: "letmein" },
      { type: "room_settings", lobby: true },
      { type: "remove_participant", targetId: host.id },
      { type: "mute_participant", targetId: host.id, kind: "audio" },
      { type: "lobby_admit", id: host.id },
      { type: "lobby_deny", id: host.id },
    ];
    for (const attempt of attempts) {
      guest.client.send(attempt);
      expect((await guest.client.next("error", (error) => error.refType === attempt.type)).code).toBe("not_host");
    }
    await host.client.sync();
    expect(host.client.pending().filter((message) => message.type !== "connection_list")).toEqual([]);
    const late = await connect();
    late.send({ type: "new_user", room, username: "Late" });
    expect((await late.next("joined")).roomState).toEqual({ locked: false, passwordSet: false, lobby: false, hosts: [host.id] });
  });

  it("refuses room_settings without any field as bad_message, and host messages outside a room as not_in_room", async () => {
    const room = freshRoom();
    const host = await joined(room, "Ada");
    host.client.send({ type: "room_settings" });
    expect((await host.client.next("error")).code).toBe("bad_message");
    const outsider = await connect();
    outsider.send({ type: "remove_participant", targetId: host.id });
    expect((await outsider.next("error")).code).toBe("not_in_room");
  });
});

describe("room password", () => {
  it("lets the right password in and refuses a missing or wrong one, never echoing or logging it", async () => {
    const logged: string[] = [];
    const spies = (["log", "error", "warn", "info"] as const).map((level) => vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" "))));
    try {
      const room = freshRoom();
      const password = "correct horse battery staple";
      const host = await joined(room, "Ada");
      const guest = await joined(room, "Bob");
      host.client.send({ type: "room_settings", password });
      const state = await guest.client.next("room_state");
      expect(state).toEqual({ type: "room_state", locked: false, passwordSet: true, lobby: false, hosts: [host.id] });
      const late = await connect();
      expect((await refusedJoin(late, room)).code).toBe("password_required");
      expect((await refusedJoin(late, room, { password: "wrong" })).code).toBe("wrong_password");
      late.send({ type: "new_user", room, username: "Late", password });
      expect((await late.next("joined")).roomState.passwordSet).toBe(true);
      for (const client of [host.client, guest.client, late]) {
        await client.sync();
        const frames = client.received.map((message) => JSON.stringify(message));
        expect(frames.filter((frame) => frame.includes(password) || /salt|"key"|hash/i.test(frame))).toEqual([]);
      }
      expect(logged.filter((line) => line.includes(password))).toEqual([]);
    } finally {
      for (const spy of spies) {
        spy.mockRestore();
      }
    }
  });

  it("refuses every attempt, the right password too, after 5 wrong ones from one address for one room", async () => {
    const room = freshRoom();
    const host = await joined(room, "Ada");
    host.client.send({ type: "room_settings", password: "right" });
    await host.client.next("room_state");
    const guesser = await connect();
    for (let attempt = 0; attempt < 5; attempt += 1) {
      expect((await refusedJoin(guesser, room, { password: `guess-${attempt}` })).code).toBe("wrong_password");
    }
    const limited = await refusedJoin(guesser, room, { password: "right" });
    expect(limited.code).toBe("password_rate_limited");
    expect(limited.message).toMatch(/try again in \d+ s/);
    // Another room is another budget.
    const other = freshRoom();
    const otherHost = await joined(other, "Zoe");
    otherHost.client.send({ type: "room_settings", password: "other" });
    await otherHost.client.next("room_state");
    guesser.send({ type: "new_user", room: other, username: "Late", password: "other" });
    expect((await guesser.next("joined")).room).toBe(other);
  });

  it("clears the password with null", async () => {
    const room = freshRoom();
    const host = await joined(room, "Ada");
    host.client.send({ type: "room_settings", password: "secret" });
    await host.client.next("room_state", (state) => state.passwordSet);
    host.client.send({ type: "room_settings", password: null });
    await host.client.next("room_state", (state) => !state.passwordSet);
    const late = await connect();
    late.send({ type: "new_user", room, username: "Late" });
    await late.next("joined");
  });
});

describe("remove and mute", () => {
  it("removes a participant: it is told, the others see it leave, it cannot resume nor rejoin the locked room", async () => {
    const room = freshRoom();
    const host = await joined(room, "Ada");
    const target = await joined(room, "Bob");
    const other = await joined(room, "Cy");
    host.client.send({ type: "room_settings", locked: true });
    await other.client.next("room_state");
    host.client.send({ type: "remove_participant", targetId: target.id });
    expect(await target.client.next("removed")).toEqual({ type: "removed", by: host.id });
    expect(await other.client.next("close_connection")).toEqual({ type: "close_connection", id: target.id });
    expect((await other.client.next("rest_connection_list")).list.map((participant) => participant.id)).toEqual([host.id, other.id]);
    const comeback = await connect();
    comeback.send({ type: "resume", id: target.id, resumeToken: target.message.resumeToken });
    expect((await comeback.next("error")).code).toBe("resume_failed");
    expect((await refusedJoin(comeback, room)).code).toBe("room_locked");
    target.client.send({ type: "send_offer", targetId: host.id, sdp: { type: "offer", sdp: "v=0" } });
    expect((await target.client.next("error", (error) => error.refType === "send_offer")).code).toBe("not_in_room");
  });

  it("delivers a mute request to its target alone", async () => {
    const room = freshRoom();
    const host = await joined(room, "Ada");
    const target = await joined(room, "Bob");
    const other = await joined(room, "Cy");
    host.client.send({ type: "mute_participant", targetId: target.id, kind: "audio" });
    expect(await target.client.next("mute_request")).toEqual({ type: "mute_request", by: host.id, kind: "audio" });
    await other.client.sync();
    expect(other.client.pending().filter((message) => message.type === "mute_request")).toEqual([]);
    host.client.send({ type: "mute_participant", targetId: host.id, kind: "video" });
    expect((await host.client.next("error")).code).toBe("self_target");
    host.client.send({ type: "mute_participant", targetId: "nobody", kind: "video" });
    expect((await host.client.next("error")).code).toBe("unknown_target");
  });
});

describe("lobby", () => {
  /** An open-mode room with a host and a member, lobby on. */
  async function roomWithLobby(): Promise<{ room: string; host: Awaited<ReturnType<typeof joined>>; member: Awaited<ReturnType<typeof joined>> }> {
    const room = freshRoom();
    const host = await joined(room, "Ada");
    const member = await joined(room, "Bob");
    host.client.send({ type: "room_settings", lobby: true });
    await member.client.next("room_state", (state) => state.lobby);
    await host.client.next("room_state", (state) => state.lobby);
    return { room, host, member };
  }

  it("keeps a waiter out (no list, no relays, no ICE servers) until a host admits it", async () => {
    const { room, host, member } = await roomWithLobby();
    const waiter = await connect();
    waiter.send({ type: "new_user", room, username: "Wes" });
    const waiting = await waiter.next("lobby_waiting");
    expect(waiting).toEqual({ type: "lobby_waiting", room, id: expect.any(String) });
    expect(await host.client.next("lobby")).toEqual({ type: "lobby", waiting: [{ id: waiting.id, username: "Wes" }] });

    waiter.send({ type: "refresh_ice_servers" });
    expect((await waiter.next("error")).code).toBe("not_in_room");
    waiter.send({ type: "send_offer", targetId: host.id, sdp: { type: "offer", sdp: "v=0" } });
    expect((await waiter.next("error")).code).toBe("not_in_room");
    member.client.send({ type: "send_offer", targetId: waiting.id, sdp: { type: "offer", sdp: "v=0" } });
    expect((await member.client.next("error")).code).toBe("unknown_target");
    await member.client.sync();
    expect(member.client.pending().filter((message) => message.type === "connection_list" || message.type === "lobby")).toEqual([]);
    expect(waiter.received.filter((message) => "iceServers" in message)).toEqual([]);

    host.client.send({ type: "lobby_admit", id: waiting.id });
    const admitted = await waiter.next("joined");
    expect(admitted.id).toBe(waiting.id);
    expect(admitted.iceServers).toEqual([STUN]);
    expect((await waiter.next("connection_list")).list.map((participant) => participant.id)).toEqual([host.id, member.id, waiting.id]);
    expect((await member.client.next("connection_list")).newUserId).toBe(waiting.id);
    expect(await host.client.next("lobby")).toEqual({ type: "lobby", waiting: [] });
  });

  it("turns a denied waiter away with lobby_denied", async () => {
    const { room, host } = await roomWithLobby();
    const waiter = await connect();
    waiter.send({ type: "new_user", room, username: "Wes" });
    const { id } = await waiter.next("lobby_waiting");
    await host.client.next("lobby");
    host.client.send({ type: "lobby_deny", id });
    expect(await waiter.next("error")).toMatchObject({ code: "lobby_denied", refType: "new_user" });
    expect(await host.client.next("lobby")).toEqual({ type: "lobby", waiting: [] });
    host.client.send({ type: "lobby_admit", id });
    expect((await host.client.next("error")).code).toBe("unknown_target");
  });

  it("drops a waiter that disconnects and tells the hosts", async () => {
    const { room, host } = await roomWithLobby();
    const waiter = await connect();
    waiter.send({ type: "new_user", room, username: "Wes" });
    await waiter.next("lobby_waiting");
    expect((await host.client.next("lobby")).waiting).toHaveLength(1);
    await cutAndAwaitServer(waiter, openServer);
    expect(await host.client.next("lobby")).toEqual({ type: "lobby", waiting: [] });
  });

  it("refuses a 17th waiter with lobby_full", async () => {
    const { room } = await roomWithLobby();
    const waiters = await Promise.all(Array.from({ length: 16 }, () => connect()));
    for (const waiter of waiters) {
      waiter.send({ type: "new_user", room, username: "Wes" });
      await waiter.next("lobby_waiting");
    }
    expect((await refusedJoin(await connect(), room)).code).toBe("lobby_full");
  });

  it("checks capacity at admission: a full room turns the admitted waiter away with room_full", async () => {
    const room = freshRoom();
    const server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], roomCapacity: 2 });
    try {
      const hostClient = await TestClient.connect(server.wsUrl);
      const memberClient = await TestClient.connect(server.wsUrl);
      const waiter = await TestClient.connect(server.wsUrl);
      clients.push(hostClient, memberClient, waiter);
      await hostClient.join(room, "Ada");
      hostClient.send({ type: "room_settings", lobby: true });
      await hostClient.next("room_state");
      waiter.send({ type: "new_user", room, username: "Wes" });
      const { id } = await waiter.next("lobby_waiting");
      hostClient.send({ type: "room_settings", lobby: false });
      await hostClient.next("room_state", (state) => !state.lobby);
      await memberClient.join(room, "Bob");
      hostClient.send({ type: "lobby_admit", id });
      expect(await waiter.next("error")).toMatchObject({ code: "room_full", refType: "new_user" });
    } finally {
      await Promise.all(clients.splice(0).map((client) => client.close()));
      await server.close();
    }
  });
});

describe("token mode", () => {
  it("takes host status only from the grant: the first plain participant is no host and nobody takes over", async () => {
    const room = freshRoom();
    const first = await tokenJoined(room, "Ada");
    expect(first.message.grants).toEqual({ publish: true, data: true, host: false, hidden: false });
    const host = await tokenJoined(room, "Hal", { host: true });
    expect(host.message.grants.host).toBe(true);
    expect(await first.client.next("room_state")).toMatchObject({ hosts: [host.id] });
    host.client.send({ type: "room_settings", locked: true, password: "pw", lobby: true });
    expect(await first.client.next("room_state", (state) => state.locked)).toMatchObject({ locked: true, passwordSet: true, lobby: true });
    host.client.send({ type: "close_connection" });
    expect(await first.client.next("room_state")).toMatchObject({ locked: true, hosts: [] });
  });

  it("lets a host past lock, password and lobby, and passes viewer grants through", async () => {
    const room = freshRoom();
    const host = await tokenJoined(room, "Hal", { host: true });
    host.client.send({ type: "room_settings", locked: true, password: "pw", lobby: true });
    await host.client.next("room_state");
    const second = await tokenJoined(room, "Hub", { host: true, publish: false });
    expect(second.message.grants).toEqual({ publish: false, data: true, host: true, hidden: false });
  });

  it("lets bypassLobby skip the lobby but not the lock", async () => {
    const room = freshRoom();
    const host = await tokenJoined(room, "Hal", { host: true });
    host.client.send({ type: "room_settings", lobby: true });
    await host.client.next("room_state");
    const vip = await tokenJoined(room, "Vip", { bypassLobby: true });
    expect(vip.message.roomState.lobby).toBe(true);
    host.client.send({ type: "room_settings", locked: true });
    await host.client.next("room_state", (state) => state.locked);
    const late = await connect(tokenServer);
    late.send({ type: "new_user", room, username: "x", token: await joinToken(room, "Late", { bypassLobby: true }) });
    expect((await late.next("error")).code).toBe("room_locked");
  });

  it("keeps a hidden participant out of the others' lists while it offers and is answered", async () => {
    const room = freshRoom();
    const host = await tokenJoined(room, "Hal", { host: true });
    const member = await tokenJoined(room, "Bob");
    await host.client.next("connection_list", (list) => list.newUserId === member.id);
    const hidden = await tokenJoined(room, "Ghost", { hidden: true, host: true });
    expect(hidden.message.roomState.hosts).toEqual([host.id]);
    expect((await hidden.client.next("connection_list")).list.map((participant) => participant.id)).toEqual([host.id, member.id, hidden.id]);

    hidden.client.send({ type: "send_offer", targetId: member.id, sdp: { type: "offer", sdp: "v=0 hidden" } });
    expect(await member.client.next("send_offer")).toMatchObject({ id: hidden.id, username: "Ghost" });
    member.client.send({ type: "send_aswer", targetId: hidden.id, sdp: { type: "answer", sdp: "v=0 answer" } });
    expect(await hidden.client.next("send_aswer")).toMatchObject({ id: member.id });

    // A later joiner is announced to the hidden one as if it were the newcomer, so it offers.
    const late = await tokenJoined(room, "Late");
    expect((await late.client.next("connection_list")).list.map((participant) => participant.id)).toEqual([host.id, member.id, late.id]);
    const told = await hidden.client.next("connection_list");
    expect(told.newUserId).toBe(hidden.id);
    expect(told.list.map((participant) => participant.id)).toEqual([host.id, member.id, hidden.id, late.id]);

    for (const client of [host.client, member.client]) {
      await client.sync();
      expect(JSON.stringify(client.received.filter((message) => message.type !== "send_offer"))).not.toContain(hidden.id);
    }
    hidden.client.send({ type: "close_connection" });
    expect(await member.client.next("close_connection")).toEqual({ type: "close_connection", id: hidden.id });
    await member.client.sync();
    expect(member.client.pending().filter((message) => message.type === "rest_connection_list" || message.type === "room_state")).toEqual([]);
  });
});

describe("resume", () => {
  it("keeps host status and carries grants and room state", async () => {
    const room = freshRoom();
    const host = await joined(room, "Ada");
    const guest = await joined(room, "Bob");
    host.client.send({ type: "room_settings", locked: true });
    await host.client.next("room_state");
    await cutAndAwaitServer(host.client, openServer);
    const back = await connect();
    back.send({ type: "resume", id: host.id, resumeToken: host.message.resumeToken });
    const resumed = await back.next("resumed");
    expect(resumed.grants).toEqual({ publish: true, data: true, host: true, hidden: false });
    expect(resumed.roomState).toEqual({ locked: true, passwordSet: false, lobby: false, hosts: [host.id] });
    back.send({ type: "mute_participant", targetId: guest.id, kind: "video" });
    expect(await guest.client.next("mute_request")).toMatchObject({ by: host.id });
  });
});
