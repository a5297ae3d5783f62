/**
 * Child-process entry of `webrtc-room peers`: runs the headless peers and reports over IPC.
 *
 * The peers run in their own process because @roamhq/wrtc crashes (SIGSEGV) while Node tears
 * the process down once an `RTCVideoSource` has existed (node-webrtc/node-webrtc#636). This
 * process therefore ends with `process.exit()`, which skips that teardown, and the command's
 * own process never loads a video source and exits normally with a meaningful status.
 *
 * Import only its types: loading it starts listening for a run.
 */
import { runPeers, type PeersProgress, type PeersReport, type PeersRunOptions } from "./peers.ts";

/** Messages from the command to this process. */
export type ToPeersWorker =
  | { type: "run"; options: Omit<PeersRunOptions, "onProgress" | "signal"> }
  | { type: "abort" };

/** Messages from this process to the command. */
export type FromPeersWorker =
  | { type: "progress"; progress: PeersProgress }
  | { type: "report"; report: PeersReport }
  | { type: "failed"; message: string };

const send = process.send?.bind(process);
if (!send) {
  throw new Error("peers-worker.ts runs as a child process of `webrtc-room peers` (child_process.fork)");
}

const abort = new AbortController();
// Ctrl-C reaches the whole process group; end the run early and still report.
process.on("SIGINT", () => abort.abort());

function exitAfter(message: FromPeersWorker, code: number): void {
  send?.(message, undefined, {}, () => process.exit(code));
}

process.on("message", (message: ToPeersWorker) => {
  switch (message.type) {
    case "abort":
      abort.abort();
      return;
    case "run":
      runPeers({
        ...message.options,
        signal: abort.signal,
        onProgress: (progress) => send?.({ type: "progress", progress } satisfies FromPeersWorker),
      }).then(
        (report) => exitAfter({ type: "report", report }, 0),
        (error: unknown) => exitAfter({ type: "failed", message: error instanceof Error ? error.stack ?? error.message : String(error) }, 1),
      );
      return;
  }
});
