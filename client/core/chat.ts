/**
 * Chat over the mesh: what a message looks like to the application, its ids, and the memory of
 * ids already seen. Messages travel peer to peer as the data channel's `chat` message
 * (`shared/protocol/mesh.ts`); the server never sees or stores them.
 */

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
