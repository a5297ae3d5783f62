/**
 * The benchmark's floor: a bare uWebSockets.js relay that parses nothing. Connections are paired in
 * arrival order (0↔1, 2↔3, …) and every frame is forwarded as bytes to the partner. Prints its port
 * on stdout; `/metrics` reports CPU and memory in the same format as the real server.
 */
import { uWS } from "../server/uws.ts";
import type { WebSocket } from "uWebSockets.js";

interface Slot {
  index: number;
}

const sockets: Array<WebSocket<Slot> | undefined> = [];
let nextIndex = 0;

uWS.App()
  .ws<Slot>("/ws", {
    maxPayloadLength: 256 * 1024,
    idleTimeout: 32,
    maxBackpressure: 16 * 1024 * 1024,
    upgrade(res, req, context) {
      res.upgrade({ index: nextIndex++ }, req.getHeader("sec-websocket-key"), req.getHeader("sec-websocket-protocol"), req.getHeader("sec-websocket-extensions"), context);
    },
    open(ws) {
      sockets[ws.getUserData().index] = ws;
    },
    message(ws, message, isBinary) {
      sockets[ws.getUserData().index ^ 1]?.send(message, isBinary);
    },
    close(ws) {
      sockets[ws.getUserData().index] = undefined;
    },
  })
  .get("/metrics", (res) => {
    const cpu = process.cpuUsage();
    res.end(`process_cpu_user_seconds_total ${cpu.user / 1e6}\nprocess_cpu_system_seconds_total ${cpu.system / 1e6}\nprocess_resident_memory_bytes ${process.memoryUsage.rss()}\n`);
  })
  .listen("127.0.0.1", 0, (listenSocket) => {
    if (!listenSocket) {
      process.exit(1);
    }
    console.log(`listening on http://127.0.0.1:${uWS.us_socket_local_port(listenSocket)}/`);
  });
