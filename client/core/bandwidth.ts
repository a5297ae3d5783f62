/**
 * Bandwidth fitted to the mesh: each participant sends one encoding of each video source to
 * every other peer, so its uplink carries (peers × video sources) streams. This module divides an
 * uplink budget among those video senders and turns each share into the `RTCRtpSender` encoding
 * parameters (`maxBitrate`, `scaleResolutionDownBy`, `maxFramerate`) that keep the sum within the
 * budget while every tile keeps moving.
 *
 * {@link fitVideoSenders} is the pure rule (table-tested); {@link VideoBandwidth} holds the budget,
 * the receivers' hints and the peers of a room session, re-fits whenever one of them changes
 * (a peer joins, leaves or reconnects; a video source is published or unpublished; a hint
 * arrives) and applies the result through {@link VideoFitTarget.applyVideoFit}.
 *
 * How a share is computed, for the senders of all peers at once:
 * 1. every sender has a weight by source (a screen share counts {@link SOURCE_WEIGHTS}`.screen`
 *    times a camera: text needs bits) and a ceiling: the per-source cap, lowered by the
 *    receiver's hint (a small tile needs fewer bits: the cap scales with the tile's area);
 * 2. the budget is water-filled: shares proportional to the weights, a sender whose share exceeds
 *    its ceiling gets the ceiling and the rest is shared again among the others;
 * 3. a share below the floor is raised to the floor: every tile keeps moving even when the room
 *    is too large for the budget (the sum then exceeds it; see {@link VideoFit.overBudget});
 * 4. resolution and framerate follow the share: a camera below {@link LOW_BITRATE_KBPS} is scaled
 *    down and its framerate reduced instead of sending mush; a hint scales the resolution to the
 *    tile. A screen keeps its resolution (text must stay legible) and loses framerate instead.
 */
import type { TrackSource } from "../../shared/protocol/mesh.ts";
import { DEFAULT_UPLINK_BUDGET_KBPS } from "../../shared/protocol/room.ts";
import type { PeerLink, VideoFitOutcome } from "./peer-link.ts";
import type { LocalPublication, PublicationTarget } from "./publications.ts";

/** Video budget of one participant's uplink when neither the session nor the server sets one. */
export { DEFAULT_UPLINK_BUDGET_KBPS };

/** The video sources a sender fits; audio is small and left alone. */
export type VideoSource = Extract<TrackSource, "camera" | "screen">;

/** How much of the budget a source gets relative to a camera. */
export const SOURCE_WEIGHTS: Readonly<Record<VideoSource, number>> = { camera: 1, screen: 3 };

/** Fewest kbit/s a sender gets, whatever the budget: below this a tile stops moving. */
export const SOURCE_FLOOR_KBPS: Readonly<Record<VideoSource, number>> = { camera: 150, screen: 300 };

/** Most kbit/s a sender gets to one peer, whatever the budget (more buys little on one tile). */
export const SOURCE_CAP_KBPS: Readonly<Record<VideoSource, number>> = { camera: 1_500, screen: 2_500 };

/** Below this share a camera is sent at reduced resolution and framerate. */
export const LOW_BITRATE_KBPS = 500;

/** Below this share a camera is reduced further (to about 320 pixels wide, 15 frames/s). */
export const VERY_LOW_BITRATE_KBPS = 300;

/** Framerate of a camera below {@link VERY_LOW_BITRATE_KBPS}, and of a screen below {@link LOW_BITRATE_KBPS}. */
export const LOW_FRAMERATE = 15;

/** Framerate of a screen share at any share: text changes rarely, sharpness matters more. */
export const SCREEN_FRAMERATE = 15;

/** Framerate of a screen share below {@link LOW_BITRATE_KBPS}. */
export const SCREEN_LOW_FRAMERATE = 5;

/** The tile size a hint's cap is relative to: a tile this large (or larger) gets the full cap. */
export const REFERENCE_TILE_PIXELS = 1280 * 720;

/** Size assumed for a track that does not say (`getSettings()` without width, e.g. in Node). */
export const ASSUMED_TRACK_SIZE = { width: 1280, height: 720 } as const;

/** The largest size a receiver shows a peer's video at, in CSS pixels × devicePixelRatio. */
export interface VideoHint {
  maxWidth: number;
  maxHeight: number;
}

/** One video sender of this participant: one source sent to one peer. */
export interface VideoSenderSpec {
  peerId: string;
  source: VideoSource;
  /** Size of the track being sent, when known. */
  trackWidth?: number;
  trackHeight?: number;
  /** What the receiving peer asked for this source, if it did. */
  hint?: VideoHint;
}

/** Encoding parameters for one sender (`RTCRtpEncodingParameters` fields). */
export interface VideoEncodingFit {
  /** Bits per second. */
  maxBitrate: number;
  /** ≥ 1. */
  scaleResolutionDownBy: number;
  /** Frames per second; absent: the track's own rate. */
  maxFramerate?: number;
}

/** The result of {@link fitVideoSenders}. */
export interface VideoFit {
  /** One entry per input sender, in input order. */
  senders: Array<VideoSenderSpec & { encoding: VideoEncodingFit }>;
  /** Sum of the `maxBitrate`s, in kbit/s. */
  totalKbps: number;
  /** True when the floors alone exceed the budget: the sum is above it, every tile still moves. */
  overBudget: boolean;
}

/** The ceiling of one sender: the source's cap, scaled down to the hinted tile's area. */
function ceilingKbps(sender: VideoSenderSpec): number {
  const cap = SOURCE_CAP_KBPS[sender.source];
  const floor = SOURCE_FLOOR_KBPS[sender.source];
  if (!sender.hint) {
    return cap;
  }
  const area = Math.min(1, (sender.hint.maxWidth * sender.hint.maxHeight) / REFERENCE_TILE_PIXELS);
  return Math.max(floor, Math.round(cap * area));
}

/**
 * Shares `budgetKbps` among senders with `weights` and `ceilings`: proportional to the weights,
 * a sender above its ceiling is held there and the remainder shared again (water-filling).
 */
function waterFill(budgetKbps: number, weights: readonly number[], ceilings: readonly number[]): number[] {
  const shares = new Array<number>(weights.length).fill(0);
  const open = new Set(weights.map((_, index) => index));
  let remaining = budgetKbps;
  while (open.size > 0) {
    const totalWeight = [...open].reduce((sum, index) => sum + (weights[index] ?? 0), 0);
    const capped = [...open].filter((index) => (remaining * (weights[index] ?? 0)) / totalWeight >= (ceilings[index] ?? 0));
    if (capped.length === 0) {
      for (const index of open) {
        shares[index] = (remaining * (weights[index] ?? 0)) / totalWeight;
      }
      break;
    }
    for (const index of capped) {
      shares[index] = ceilings[index] ?? 0;
      remaining -= ceilings[index] ?? 0;
      open.delete(index);
    }
  }
  return shares;
}

/** Resolution and framerate for a sender given its share. */
function shapeEncoding(sender: VideoSenderSpec, kbps: number): VideoEncodingFit {
  const width = sender.trackWidth ?? ASSUMED_TRACK_SIZE.width;
  const height = sender.trackHeight ?? ASSUMED_TRACK_SIZE.height;
  // The hint: never send more pixels than the tile shows.
  let scale = sender.hint ? Math.max(width / sender.hint.maxWidth, height / sender.hint.maxHeight) : 1;
  let maxFramerate: number | undefined;
  if (sender.source === "screen") {
    maxFramerate = kbps < LOW_BITRATE_KBPS ? SCREEN_LOW_FRAMERATE : SCREEN_FRAMERATE;
  } else if (kbps < VERY_LOW_BITRATE_KBPS) {
    scale = Math.max(scale, width / 320);
    maxFramerate = LOW_FRAMERATE;
  } else if (kbps < LOW_BITRATE_KBPS) {
    scale = Math.max(scale, width / 640);
  }
  // Two decimals: a stable value, so that an unchanged fit is recognised and not applied again.
  const scaleResolutionDownBy = Math.max(1, Math.round(scale * 100) / 100);
  return { maxBitrate: Math.round(kbps) * 1000, scaleResolutionDownBy, ...(maxFramerate !== undefined ? { maxFramerate } : {}) };
}

/**
 * Divides `budgetKbps` among `senders` (this participant's video senders, one per peer and
 * source); see the module comment for the rule. Pure.
 */
export function fitVideoSenders(budgetKbps: number, senders: readonly VideoSenderSpec[]): VideoFit {
  const weights = senders.map((sender) => SOURCE_WEIGHTS[sender.source]);
  const ceilings = senders.map(ceilingKbps);
  const shares = waterFill(Math.max(0, budgetKbps), weights, ceilings).map((share, index) => {
    const sender = senders[index];
    return sender ? Math.max(SOURCE_FLOOR_KBPS[sender.source], share) : share;
  });
  const fitted = senders.map((sender, index) => ({ ...sender, encoding: shapeEncoding(sender, shares[index] ?? 0) }));
  const totalKbps = fitted.reduce((sum, sender) => sum + sender.encoding.maxBitrate / 1000, 0);
  const floorsKbps = senders.reduce((sum, sender) => sum + SOURCE_FLOOR_KBPS[sender.source], 0);
  return { senders: fitted, totalKbps, overBudget: floorsKbps > budgetKbps };
}

/** True when `source` is a video source this module fits. */
export function isVideoSource(source: TrackSource): source is VideoSource {
  return source === "camera" || source === "screen";
}

/** A fit as {@link VideoBandwidth} applied it: the budget used and what each sender did with its share. */
export interface AppliedVideoFit extends VideoFit {
  budgetKbps: number;
  outcomes: VideoFitOutcome[];
}

/** Options of {@link VideoBandwidth}. */
export interface VideoBandwidthOptions {
  /** The uplink video budget now, in kbit/s (read at every fit: the server may announce it late). */
  budgetKbps: () => number;
  /** Called after every fit with what was applied. */
  onFit?: (fit: AppliedVideoFit) => void;
}

/** The size of a track as it says (`getSettings()`), when it does. */
function trackSize(track: MediaStreamTrack | null): { trackWidth?: number; trackHeight?: number } {
  const settings = typeof track?.getSettings === "function" ? track.getSettings() : {};
  return {
    ...(settings.width ? { trackWidth: settings.width } : {}),
    ...(settings.height ? { trackHeight: settings.height } : {}),
  };
}

/**
 * The uplink budget of one room session, applied to its peers' video senders: re-fits (once per
 * burst of changes, one fit at a time) when a peer is added, removed or (re)connects, when a
 * video source is published or unpublished, and when a receiver's hint arrives. Attach it to the
 * session's publications to hear about the sources.
 */
export class VideoBandwidth implements PublicationTarget {
  readonly #options: VideoBandwidthOptions;
  readonly #peers = new Map<string, PeerLink>();
  /** Receivers' hints, by peer id and source. */
  readonly #hints = new Map<string, Map<VideoSource, VideoHint>>();
  #dirty = false;
  #running = false;
  #closed = false;
  #lastFit: AppliedVideoFit | undefined;

  constructor(options: VideoBandwidthOptions) {
    this.#options = options;
  }

  /** The last fit applied, if any. */
  get lastFit(): AppliedVideoFit | undefined {
    return this.#lastFit;
  }

  /** Starts fitting `peer`'s video senders; returns the function that stops it (and re-fits the others). */
  add(peer: PeerLink): () => void {
    this.#peers.set(peer.id, peer);
    const unsubscribe = [
      peer.on("state", ({ state }) => {
        // A new connection has new senders with default parameters.
        if (state === "connected") {
          this.refit();
        }
      }),
      peer.on("video-hint", ({ source, hint }) => {
        const hints = this.#hints.get(peer.id) ?? new Map<VideoSource, VideoHint>();
        hints.set(source, hint);
        this.#hints.set(peer.id, hints);
        this.refit();
      }),
    ];
    this.refit();
    return () => {
      unsubscribe.forEach((stop) => stop());
      if (this.#peers.get(peer.id) === peer) {
        this.#peers.delete(peer.id);
        this.#hints.delete(peer.id);
        this.refit();
      }
    };
  }

  /** Fits again soon (after the current task, so that a burst of changes makes one fit). */
  refit(): void {
    if (this.#closed) {
      return;
    }
    this.#dirty = true;
    if (!this.#running) {
      this.#running = true;
      queueMicrotask(() => void this.#run());
    }
  }

  /** Stops fitting; a fit in flight finishes without reporting. Safe to call twice. */
  close(): void {
    this.#closed = true;
    this.#peers.clear();
    this.#hints.clear();
  }

  addPublication(publication: LocalPublication): void {
    if (isVideoSource(publication.source)) {
      this.refit();
    }
  }

  removePublication(publication: LocalPublication): void {
    if (isVideoSource(publication.source)) {
      this.refit();
    }
  }

  async replacePublicationTrack(publication: LocalPublication): Promise<void> {
    // Another track may have another size.
    if (isVideoSource(publication.source)) {
      this.refit();
    }
  }

  async #run(): Promise<void> {
    while (this.#dirty && !this.#closed) {
      this.#dirty = false;
      await this.#fitOnce();
    }
    this.#running = false;
  }

  async #fitOnce(): Promise<void> {
    const links: PeerLink[] = [];
    const specs: VideoSenderSpec[] = [];
    for (const peer of this.#peers.values()) {
      if (peer.closed) {
        continue;
      }
      for (const { source, track } of peer.videoSenders()) {
        const hint = this.#hints.get(peer.id)?.get(source);
        links.push(peer);
        specs.push({ peerId: peer.id, source, ...trackSize(track), ...(hint ? { hint } : {}) });
      }
    }
    const budgetKbps = this.#options.budgetKbps();
    const fit = fitVideoSenders(budgetKbps, specs);
    const outcomes = await Promise.all(fit.senders.map((sender, index) => links[index]?.applyVideoFit(sender.source, sender.encoding) ?? "no_sender"));
    if (this.#closed) {
      return;
    }
    this.#lastFit = { ...fit, budgetKbps, outcomes };
    this.#options.onFit?.(this.#lastFit);
  }
}
