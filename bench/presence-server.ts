/**
 * The server process of `bench:presence`: `startServer` with the JSON overrides given as the first
 * argument, so that the benchmark can also run the uncoalesced baseline (`presenceWindowMs: -1`),
 * which no flag reaches. Prints the same "listening on" line as `webrtc-room serve`, stops on SIGTERM.
 */
import { startServer } from "../server/server.ts";
import type { ServerConfig } from "../server/config.ts";

const overrides = JSON.parse(process.argv[2] ?? "{}") as Partial<ServerConfig>;
const server = await startServer(overrides);
console.log(`webrtc-room listening on ${server.httpUrl}/  (presenceWindowMs ${server.config.presenceWindowMs})`);
process.once("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
