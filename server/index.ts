/**
 * Public entry of the server (`import { startServer } from "webrtc-room/server"`): start a server
 * in-process, and the configuration it takes. The `webrtc-room serve` command is built on these.
 */
export { startServer, WEBSOCKET_PATH, type RunningServer } from "./server.ts";
export { ConfigError, DEFAULT_CONFIG, loadConfig, serveHelp, validateConfig, type ServerConfig } from "./config.ts";
export { isNativeUws } from "./uws.ts";
