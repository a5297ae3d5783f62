/**
 * `attachStream`: a Lit element directive that plays a `MediaStream` in a `<video>`.
 *
 * Sets `srcObject` only when the stream changes (reassigning it restarts playback) and calls
 * `play()` itself instead of relying on `autoplay` alone, because only the promise of `play()`
 * tells that the browser's autoplay policy refused to start audible media. That refusal is
 * reported so that the room can offer a click to enable sound; the video is then played muted.
 */
import { nothing } from "lit";
import { Directive, PartType, directive, type ElementPart, type PartInfo } from "lit/directive.js";

/** How a stream is played. */
export interface AttachStreamOptions {
  /** Play without sound (always for the local preview, to avoid hearing oneself). */
  muted: boolean;
  /** Called when the browser refused to start this video with sound. */
  onSoundBlocked?: () => void;
}

class AttachStreamDirective extends Directive {
  constructor(partInfo: PartInfo) {
    super(partInfo);
    if (partInfo.type !== PartType.ELEMENT) {
      throw new TypeError("attachStream() belongs on an element: <video ${attachStream(stream, options)}>");
    }
  }

  render(_stream: MediaStream | undefined, _options: AttachStreamOptions): typeof nothing {
    return nothing;
  }

  override update(part: ElementPart, [stream, options]: [MediaStream | undefined, AttachStreamOptions]): typeof nothing {
    const video = part.element;
    if (!(video instanceof HTMLVideoElement)) {
      throw new TypeError("attachStream() needs a <video> element");
    }
    const source = stream ?? null;
    const changed = video.srcObject !== source || video.muted !== options.muted;
    if (video.srcObject !== source) {
      video.srcObject = source;
    }
    video.muted = options.muted;
    if (source && (changed || video.paused)) {
      video.play().catch((error: unknown) => {
        // AbortError (a newer srcObject interrupted this play) needs nothing; only a refusal
        // to play with sound is worth telling the user about.
        if (error instanceof DOMException && error.name === "NotAllowedError" && !video.muted) {
          options.onSoundBlocked?.();
        }
      });
    }
    return nothing;
  }
}

/** Plays `stream` in the `<video>` this is bound to; see {@link AttachStreamOptions}. */
export const attachStream = directive(AttachStreamDirective);
