/**
 * Screen sharing on top of the publications: the screen is published as its own `screen` track
 * (and `screen-audio` when the capture has sound), tuned for text, and a room has one screen share
 * at a time.
 *
 * One sharer at a time, without the server: every `sources` announcement's `screen` entry carries
 * `sinceMs`, when its sender started sharing. A participant that shares and hears of a newer share
 * (a larger `sinceMs`; on the same millisecond, the larger participant id) stops its own and is
 * told why (`replaced`, by whom). Both sides of a race apply the same rule to the same two claims,
 * so exactly one share survives; a late joiner's announcement on connect settles it the same way.
 * The clocks are the senders' own: a skew matters only for shares started within the skew.
 */
import type { LocalPublications } from "./publications.ts";
import type { RemotePeer } from "./peer-link.ts";

/** `MediaStreamTrack.contentHint` of a screen track: the encoder keeps detail (text) over motion. */
export const SCREEN_CONTENT_HINT = "detail";

/** Why a local screen share ended. */
export type ScreenShareEndReason =
  /** {@link ScreenShare.stop} was called (the user's Stop button). */
  | "stopped"
  /** The capture ended: the browser's own "Stop sharing", or the shared window closed. */
  | "ended"
  /** Someone else started sharing later: one share at a time. */
  | "replaced";

/** One participant's claim on the room's screen share. */
export interface ScreenClaim {
  participantId: string;
  /** When the share started, epoch ms (the sharer's clock). */
  sinceMs: number;
}

/**
 * True when the share of `local` must give way to that of `remote`: the newer share wins; on the
 * same millisecond, the larger participant id. Antisymmetric, so two sharers never both yield nor
 * both stay. Pure.
 */
export function yieldsScreenTo(local: ScreenClaim, remote: ScreenClaim): boolean {
  return remote.sinceMs > local.sinceMs || (remote.sinceMs === local.sinceMs && remote.participantId > local.participantId);
}

/** Options of {@link ScreenShare}. */
export interface ScreenShareOptions {
  publications: LocalPublications;
  /** This participant's id, once joined (the tie-break of {@link yieldsScreenTo}). */
  ownId: () => string | undefined;
  /** The local share ended; `by` is the participant whose newer share replaced it. */
  onEnded: (reason: ScreenShareEndReason, by: RemotePeer | undefined) => void;
}

/** This participant's screen share: start, stop, and giving way to a newer one. */
export class ScreenShare {
  readonly #options: ScreenShareOptions;
  /** The captured tracks while sharing, to stop them and drop their `ended` listeners. */
  #capture: { tracks: MediaStreamTrack[]; abort: AbortController } | undefined;

  constructor(options: ScreenShareOptions) {
    this.#options = options;
  }

  /** True while this participant shares its screen. */
  get active(): boolean {
    return this.#capture !== undefined;
  }

  /**
   * Publishes `stream` (from `getDisplayMedia`) as the screen share: its video track as `screen`
   * (content hint `detail`), its audio track, if the browser captured one, as `screen-audio`. A
   * share already running is stopped first (reason `stopped`). Throws `not_allowed` for a viewer
   * and a `TypeError` when the stream has no video track.
   */
  start(stream: MediaStream): void {
    const [video] = stream.getVideoTracks();
    if (!video) {
      throw new TypeError("a screen share needs a video track");
    }
    this.stop();
    const [audio] = stream.getAudioTracks();
    if ("contentHint" in video) {
      video.contentHint = SCREEN_CONTENT_HINT;
    }
    const publications = this.#options.publications;
    publications.publish("screen", video);
    if (audio) {
      publications.publish("screen-audio", audio);
    }
    const abort = new AbortController();
    this.#capture = { tracks: [video, ...(audio ? [audio] : [])], abort };
    video.addEventListener("ended", () => this.#end("ended", undefined), { signal: abort.signal });
  }

  /** Stops sharing (reason `stopped`). Returns false when nothing was shared. */
  stop(): boolean {
    return this.#end("stopped", undefined);
  }

  /**
   * A remote announced its sources: when it shares too, and its share is newer, this one gives
   * way (reason `replaced`).
   */
  onRemoteSources(peer: RemotePeer): void {
    const remoteSinceMs = peer.screenSinceMs;
    const localSinceMs = this.#options.publications.get("screen")?.sinceMs;
    const ownId = this.#options.ownId();
    if (!this.#capture || remoteSinceMs === undefined || localSinceMs === undefined || ownId === undefined) {
      return;
    }
    if (yieldsScreenTo({ participantId: ownId, sinceMs: localSinceMs }, { participantId: peer.id, sinceMs: remoteSinceMs })) {
      this.#end("replaced", peer);
    }
  }

  /** Ends the share without telling anyone (the session is closing). Safe to call twice. */
  close(): void {
    this.#release();
  }

  #end(reason: ScreenShareEndReason, by: RemotePeer | undefined): boolean {
    if (!this.#capture) {
      return false;
    }
    this.#release();
    this.#options.onEnded(reason, by);
    return true;
  }

  #release(): void {
    const capture = this.#capture;
    if (!capture) {
      return;
    }
    this.#capture = undefined;
    capture.abort.abort();
    const publications = this.#options.publications;
    if (publications.allowed) {
      publications.unpublish("screen");
      publications.unpublish("screen-audio");
    }
    for (const track of capture.tracks) {
      track.stop();
    }
  }
}
