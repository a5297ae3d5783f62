/**
 * Tiles ask their senders for what they show: a `ResizeObserver` on every remote tile measures
 * its rendered size and, once the size has settled ({@link HINT_SETTLE_MS}), sends it as the
 * pair's video hint (device pixels): a strip or a small grid cell asks for less, so the sender
 * spends its uplink budget where it shows. A featured tile (stage, pinned, speaker) asks for full
 * quality whatever its size ({@link FULL_VIDEO_HINT}).
 *
 * A tile takes part with `data-hint-peer` (the sender's id) and `data-hint-source` (`camera` or
 * `screen`); `data-featured` marks the large one.
 */
import { MAX_VIDEO_HINT_PIXELS } from "../../../shared/protocol/mesh.ts";

/** How long a tile's size must hold before it is sent: a layout change resizes in bursts. */
export const HINT_SETTLE_MS = 300;

/** A new size is sent only when one edge changed by more than this fraction of the last one sent. */
export const HINT_CHANGE_RATIO = 0.1;

/** What a featured tile asks for: the largest hint, which leaves the sender's full cap and resolution. */
export const FULL_VIDEO_HINT = { width: MAX_VIDEO_HINT_PIXELS, height: Math.round((MAX_VIDEO_HINT_PIXELS * 9) / 16) } as const;

/** Sends one hint: the size `peerId`'s `source` is shown at, in device pixels. */
export type SendVideoHint = (peerId: string, source: "camera" | "screen", size: { width: number; height: number }) => void;

/** True when `next` differs from `sent` by more than {@link HINT_CHANGE_RATIO} on either edge. */
export function hintChanged(sent: { width: number; height: number } | undefined, next: { width: number; height: number }): boolean {
  return sent === undefined
    || Math.abs(next.width - sent.width) > sent.width * HINT_CHANGE_RATIO
    || Math.abs(next.height - sent.height) > sent.height * HINT_CHANGE_RATIO;
}

/** Watches the remote tiles of one element and sends their sizes as video hints. */
export class TileSizeHints {
  readonly #send: SendVideoHint;
  readonly #observer: ResizeObserver | undefined;
  readonly #observed = new Set<Element>();
  /** Last size sent, by `peerId source`. */
  readonly #sent = new Map<string, { width: number; height: number }>();
  /** Sizes waiting for the layout to settle, by `peerId source`. */
  readonly #pending = new Map<string, { peerId: string; source: "camera" | "screen"; width: number; height: number }>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(send: SendVideoHint) {
    this.#send = send;
    // Absent outside a browser: no tiles to watch there.
    this.#observer = typeof ResizeObserver === "function" ? new ResizeObserver((entries) => this.#onResize(entries)) : undefined;
  }

  /** Watches the tiles under `root` now (call after every render): new ones in, gone ones out. */
  sync(root: ParentNode | null | undefined): void {
    const observer = this.#observer;
    if (!observer || !root) {
      return;
    }
    const tiles = new Set(root.querySelectorAll("[data-hint-peer]"));
    for (const tile of this.#observed) {
      if (!tiles.has(tile)) {
        observer.unobserve(tile);
        this.#observed.delete(tile);
      }
    }
    for (const tile of tiles) {
      if (!this.#observed.has(tile)) {
        observer.observe(tile);
        this.#observed.add(tile);
      }
    }
  }

  /** Forgets every tile and every size sent (the stay ended: a new session starts with no hints). */
  reset(): void {
    this.#observer?.disconnect();
    this.#observed.clear();
    this.#sent.clear();
    this.#pending.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onResize(entries: ResizeObserverEntry[]): void {
    const ratio = globalThis.devicePixelRatio || 1;
    for (const { target, contentRect } of entries) {
      const element = target instanceof HTMLElement ? target : undefined;
      const peerId = element?.dataset["hintPeer"];
      const source = element?.dataset["hintSource"] === "screen" ? "screen" : "camera";
      if (!element || peerId === undefined || contentRect.width === 0 || contentRect.height === 0) {
        continue;
      }
      const size = element.dataset["featured"] !== undefined
        ? FULL_VIDEO_HINT
        : { width: Math.round(contentRect.width * ratio), height: Math.round(contentRect.height * ratio) };
      this.#pending.set(`${peerId} ${source}`, { peerId, source, ...size });
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#flush(), HINT_SETTLE_MS);
  }

  #flush(): void {
    this.#timer = undefined;
    for (const [key, { peerId, source, width, height }] of this.#pending) {
      if (hintChanged(this.#sent.get(key), { width, height })) {
        this.#sent.set(key, { width, height });
        this.#send(peerId, source, { width, height });
      }
    }
    this.#pending.clear();
  }
}
