/**
 * The crowd of `bench:presence`, in its own process so that neither reading hundreds of thousands of
 * presence frames nor sending the callers' burst delays the bystanders' ping measurement in the
 * parent. Logs in `callers` callers with one target each, then `passive` clients; every client
 * counts the frames it receives (without parsing them). Driven over the IPC channel of `fork`:
 * `{op: "reset"}` zeroes the counts, `{op: "count"}` answers `{count, presence}`,
 * `{op: "burst", messages, spreadMs}` has every caller send `messages` call / stopCall messages at
 * its target (see {@link burst}) and answers `{sent}`.
 * It reports `{ready}` once every client is logged in and has its `presence` snapshot.
 */
import { once } from "node:events";
import WebSocket from "ws";

const [url = "", passiveText = "0", callersText = "0"] = process.argv.slice(2);
const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n";

const reply = (message: object): void => {
  process.send?.(message);
};

let frames = 0;
/** The part of `frames` that is presence (`presence`, `presenceUpdate`, `presenceLeft`, `presenceChanges`). */
let presenceFrames = 0;
const sockets: WebSocket[] = [];

/** Logs in one client as `userID`; counts every frame it receives from then on. */
async function logIn(userID: string): Promise<WebSocket> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  sockets.push(socket);
  await once(socket, "open");
  const snapshot = new Promise<void>((resolve, reject) => {
    socket.on("message", (data: WebSocket.RawData) => {
      frames += 1;
      const text = data.toString();
      if (text.startsWith('{"type":"presence')) {
        presenceFrames += 1;
      }
      if (text.startsWith('{"type":"presence",')) {
        resolve();
      } else if (text.includes('"rejected"')) {
        reject(new Error(`login refused: ${text}`));
      }
    });
  });
  socket.send(JSON.stringify({ type: "login", userID }));
  await snapshot;
  return socket;
}

const callers: Array<{ socket: WebSocket; calleeID: string }> = [];
for (let index = 0; index < Number(callersText); index += 1) {
  const calleeID = `target-${index}`;
  await logIn(calleeID);
  callers.push({ socket: await logIn(`caller-${index}`), calleeID });
}
const BATCH = 25;
const passive = Number(passiveText);
for (let start = 0; start < passive; start += BATCH) {
  await Promise.all(Array.from({ length: Math.min(BATCH, passive - start) }, (_, offset) => logIn(`crowd-${start + offset}`)));
}

/**
 * Has every caller send `messages` messages at its target, alternately `call` and `stopCall`: all
 * at once, or one message per caller every `spreadMs / messages` ms (so that a ring lasts that long
 * and a presence window may close on it). Resolves with the number sent.
 */
async function burst(messages: number, spreadMs: number): Promise<number> {
  let sent = 0;
  for (let index = 0; index < messages; index += 1) {
    for (const { socket, calleeID } of callers) {
      socket.send(JSON.stringify(index % 2 === 0 ? { type: "call", calleeID, sdpOffer: SDP } : { type: "stopCall" }));
      sent += 1;
    }
    if (spreadMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, spreadMs / messages));
    }
  }
  return sent;
}

process.on("message", (message: { op: string; messages?: number; spreadMs?: number }) => {
  switch (message.op) {
    case "reset":
      frames = 0;
      presenceFrames = 0;
      reply({ reset: true });
      return;
    case "count":
      reply({ count: frames, presence: presenceFrames });
      return;
    case "burst":
      void burst(message.messages ?? 0, message.spreadMs ?? 0).then((sent) => reply({ sent }));
      return;
    case "close":
      for (const socket of sockets) {
        socket.terminate();
      }
      process.exit(0);
  }
});
reply({ ready: sockets.length });
