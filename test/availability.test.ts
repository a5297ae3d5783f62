/**
 * `setStatus`: a user says it is `unavailable` (a camera whose source is down) or `online` again,
 * with the real server and raw WebSocket clients. Everyone sees the change; an unavailable user is
 * rung by nobody; the statuses of a call stay the server's.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../server/server.ts";
import { connectCall, logIn, untilStatus, type LoggedIn } from "./support/call-client.ts";
import { TestClient } from "./support/ws-client.ts";
import { startTestServer } from "./mesh/helpers.ts";

let server: RunningServer;
const openClients: TestClient[] = [];
let userCounter = 0;

async function user(name: string): Promise<LoggedIn> {
  const client = await TestClient.connect(server.wsUrl);
  openClients.push(client);
  userCounter += 1;
  return logIn(client, `${name}-${userCounter}`);
}

beforeAll(async () => {
  server = await startTestServer();
});

afterEach(() => {
  for (const client of openClients.splice(0)) {
    client.close();
  }
});

afterAll(async () => {
  await server?.close();
});

describe("setStatus (happy path)", () => {
  it("shows a user unavailable to everyone, itself included, and online again", async () => {
    const camera = await user("camera");
    const observer = await user("observer");

    camera.client.send({ type: "setStatus", status: "unavailable" });
    await untilStatus(observer.client, camera.userID, "unavailable");
    await untilStatus(camera.client, camera.userID, "unavailable");

    camera.client.send({ type: "setStatus", status: "online" });
    await untilStatus(observer.client, camera.userID, "online");
  });

  it("an unavailable user is rung by nobody: a call to it is answered inCalling", async () => {
    const camera = await user("camera");
    const caller = await user("caller");
    camera.client.send({ type: "setStatus", status: "unavailable" });
    await untilStatus(caller.client, camera.userID, "unavailable");

    caller.client.send({ type: "call", calleeID: camera.userID, sdpOffer: "v=0\r\n" });

    expect(await caller.client.next("callResponse")).toMatchObject({ callResponse: "inCalling", calleeID: camera.userID });
  });
});

describe("setStatus (failure cases)", () => {
  it("is refused not_logged_in before login", async () => {
    const client = await TestClient.connect(server.wsUrl);
    openClients.push(client);

    client.send({ type: "setStatus", status: "unavailable" });

    expect(await client.next("error")).toMatchObject({ code: "not_logged_in", refType: "setStatus" });
  });

  it("is refused invalid_state during a call, whose status stays in_call", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    await connectCall(alice, bob);

    alice.client.send({ type: "setStatus", status: "unavailable" });

    expect(await alice.client.next("error")).toMatchObject({ code: "invalid_state", refType: "setStatus" });
    await untilStatus(bob.client, alice.userID, "in_call");
  });

  it("refuses a status the server keeps for calls with bad_message", async () => {
    const camera = await user("camera");

    camera.client.send({ type: "setStatus", status: "in_call" });

    expect(await camera.client.next("error")).toMatchObject({ code: "bad_message", refType: "setStatus" });
  });
});
