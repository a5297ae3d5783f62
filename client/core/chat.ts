/**
 * Chat over the mesh: what a message looks like to the application, its ids, and the memory of
 * ids already seen. Messages travel peer to peer as the data channel's `chat` message
 * (`shared/protocol/mesh.ts`); the server never sees or stores them. Rooms send each message to
 * every pair; a call sends it over its one link.
 */
import { CHAT_MAX_BYTES, CHAT_MAX_CHARS, isChatTextWithinLimits, type ChatChannelMessage } from "../../shared/protocol/mesh.ts";


/** One chat message, sent by this participant or received from another. */
export interface ChatMessage {
  /** Random id chosen by the sender; a copy with a known id is dropped. */
  id: string;
  /** The sender: for a received message, the remote of the pair it came over (never what the message claims). */
  from: { id: string; username: string };
  text: string;
  /** When the sender sent it, by the sender's clock (epoch ms). */
  sentAtMs: number;
  /** When it arrived here, by this side's clock (epoch ms); `sentAtMs` for this participant's own. */
  receivedAtMs: number;
}

/**
 * Why `text` cannot be sent as a chat message (`chat_empty`, `chat_too_long`, with the sentence
 * for the error), or `undefined` when it can. Rooms and calls refuse with the same codes.
 */
export function chatTextRefusal(text: string): { code: "chat_empty" | "chat_too_long"; message: string } | undefined {
  if (isChatTextWithinLimits(text)) {
    return undefined;
  }
  return text === ""
    ? { code: "chat_empty", message: "empty chat message" }
    : { code: "chat_too_long", message: `a chat message holds at most ${CHAT_MAX_CHARS} characters and ${CHAT_MAX_BYTES} bytes of UTF-8` };
}

/** A new outgoing chat message with a fresh id, sent now by this side's clock. */
export function newChatChannelMessage(text: string): ChatChannelMessage {
  return { type: "chat", id: newChatId(), sentAtMs: Date.now(), text };
}

/** Ids remembered by a {@link ChatIdMemory}; far more than a meeting's chat ever holds. */
export const CHAT_IDS_REMEMBERED = 10_000;

/** A new chat message id: 128 random bits as 32 hexadecimal digits (`randomUUID` needs a secure context). */
export function newChatId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The ids of the chat messages seen so far (bounded: the oldest are forgotten first). */
export class ChatIdMemory {
  readonly #ids = new Set<string>();

  /** Records `id`; false when it was seen before (the message is a copy). */
  remember(id: string): boolean {
    if (this.#ids.has(id)) {
      return false;
    }
    this.#ids.add(id);
    if (this.#ids.size > CHAT_IDS_REMEMBERED) {
      for (const oldest of this.#ids) {
        this.#ids.delete(oldest);
        break;
      }
    }
    return true;
  }
}
