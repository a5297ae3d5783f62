/**
 * The chat side panel of `<webrtc-room>` and of `<webrtc-phone>`'s call view: the messages with
 * names and times, links made clickable, the form to write one, and the toolbar button that opens
 * it. Everything a participant typed is rendered as text
 * through Lit's escaping; a link becomes an `<a>` built here from an `http:` or `https:` URL,
 * never from markup.
 */
import { css, html, nothing, svg, type TemplateResult } from "lit";
import { CHAT_MAX_CHARS } from "../../../shared/protocol/mesh.ts";
import type { ChatMessage } from "../../core/chat.ts";

/** A chat message as the panel shows it and the elements' `chat-message` event carries it. */
export interface ChatEntry extends ChatMessage {
  /** True for this user's own message (sent from the panel or with `sendChat()`). */
  own: boolean;
}

/** A piece of a chat text: plain text, or a link with the URL it opens. */
export type ChatPart = string | { text: string; href: string };

/** Candidates for links: `http://` or `https://` up to white space or a character that ends one in prose. */
const LINK_CANDIDATE = /https?:\/\/[^\s<>"]+/gi;

/** Punctuation that ends a sentence after a link rather than belonging to it. */
const TRAILING_PUNCTUATION = /[.,;:!?')\]}]+$/;

/** Splits `text` into plain parts and `http(s)` links; anything else stays text. */
export function chatParts(text: string): ChatPart[] {
  const parts: ChatPart[] = [];
  let plainFrom = 0;
  for (const match of text.matchAll(LINK_CANDIDATE)) {
    const candidate = match[0].replace(TRAILING_PUNCTUATION, "");
    const href = parseHttpUrl(candidate);
    if (href === undefined) {
      continue;
    }
    parts.push(text.slice(plainFrom, match.index), { text: candidate, href });
    plainFrom = match.index + candidate.length;
  }
  parts.push(text.slice(plainFrom));
  return parts.filter((part) => part !== "");
}

function parseHttpUrl(candidate: string): string | undefined {
  try {
    const url = new URL(candidate);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** What the panel shows and does. */
export interface ChatPanelView {
  messages: readonly ChatEntry[];
  /** The inline refusal of the last send ("Too long…"), if any. */
  error: string | undefined;
  /** False when this participant may not send (not joined, or no `data` grant). */
  canSend: boolean;
  onSend: (text: string) => void;
  onClose: () => void;
}

/** The refusal shown under the field for a text above the limit. */
export function chatTooLongText(text: string): string {
  return `Too long to send: ${[...text].length} characters, at most ${CHAT_MAX_CHARS}. Shorten it and send again.`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

function renderMessage(message: ChatEntry): TemplateResult {
  const sent = new Date(message.sentAtMs);
  return html`<li data-chat-id=${message.id}>
    <div class="meta"><span class="from">${message.own ? "You" : message.from.username}</span><time datetime=${sent.toISOString()}>${timeFormat.format(sent)}</time></div>
    <p>${chatParts(message.text).map((part) =>
      typeof part === "string" ? part : html`<a href=${part.href} target="_blank" rel="noopener noreferrer">${part.text}</a>`)}</p>
  </li>`;
}

/** A speech bubble (after Lucide's `message-square`, ISC license), for the toolbar's chat button. */
const chatIcon = html`<svg class="icon" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"
  stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${svg`<path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"/>`}</svg>`;

/**
 * The toolbar button that opens and closes the panel, with the number of unread messages (in its
 * name for screen readers, as a badge for the eyes).
 */
export function renderChatToggle(open: boolean, unread: number, onToggle: () => void): TemplateResult {
  const label = unread === 0 ? "Chat" : `Chat, ${unread} unread`;
  return html`<button class="control chat-toggle" part="control control-chat" data-control="chat"
    aria-expanded=${open ? "true" : "false"} aria-controls="chat" aria-label=${label} title=${label}
    @click=${onToggle}
  >${chatIcon}${unread === 0 ? nothing : html`<span class="unread" aria-hidden="true">${unread > 99 ? "99+" : unread}</span>`}</button>`;
}

/** Renders the panel. */
export function renderChatPanel(view: ChatPanelView): TemplateResult {
  const send = (form: HTMLFormElement): void => {
    const field = form.elements.namedItem("message");
    if (field instanceof HTMLTextAreaElement && field.value.trim() !== "") {
      view.onSend(field.value);
    }
  };
  const onSubmit = (event: SubmitEvent): void => {
    event.preventDefault();
    if (event.currentTarget instanceof HTMLFormElement) {
      send(event.currentTarget);
    }
  };
  // Enter sends, Shift+Enter starts a new line (and Enter while composing text is the IME's).
  const onKeydown = (event: KeyboardEvent): void => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.currentTarget instanceof HTMLTextAreaElement && event.currentTarget.form) {
      event.preventDefault();
      send(event.currentTarget.form);
    }
  };
  return html`<aside class="chat" part="chat" id="chat" aria-label="Chat">
    <h2>Chat</h2>
    <button class="chat-close" @click=${view.onClose} aria-label="Close chat" title="Close chat">×</button>
    ${view.messages.length === 0
      ? html`<p class="chat-empty">Messages go straight to everyone here; nothing is stored.</p>`
      : html`<ol class="messages" part="chat-messages">${view.messages.map(renderMessage)}</ol>`}
    <form @submit=${onSubmit}>
      <textarea name="message" rows="2" aria-label="Message to everyone" placeholder="Message everyone"
        ?disabled=${!view.canSend} aria-invalid=${view.error ? "true" : "false"} aria-describedby="chat-error"
        @keydown=${onKeydown}></textarea>
      <button class="primary" type="submit" ?disabled=${!view.canSend}>Send</button>
    </form>
    <p class="chat-error" id="chat-error" part="chat-error">${view.error ?? nothing}</p>
  </aside>`;
}

/** Styles of the chat panel and its toolbar button. */
export const chatStyles = css`
  .stage {
    container-type: inline-size;
  }

  .chat {
    position: absolute;
    z-index: 2;
    top: var(--_gap);
    right: var(--_gap);
    bottom: 0;
    width: min(320px, calc(100% - 2 * var(--_gap)));
    display: flex;
    flex-direction: column;
    gap: 8px;
    padding: 12px;
    border-radius: var(--_radius);
    background: var(--_surface);
  }

  @container (min-width: 640px) {
    .chat-open .grid {
      margin-right: calc(320px + var(--_gap));
    }
  }

  .chat h2 {
    margin: 0;
    font-size: 15px;
  }

  .chat-close {
    position: absolute;
    top: 6px;
    right: 6px;
    border: 0;
    background: none;
    color: inherit;
    font-size: 20px;
    cursor: pointer;
  }

  .messages {
    flex: 1;
    overflow-y: auto;
    margin: 0;
    padding: 0;
    list-style: none;
  }

  .messages p {
    margin: 0 0 10px;
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }

  .meta,
  .chat-empty {
    flex: 1;
    margin: 0;
    font-size: 12px;
    color: var(--_text-dim);
  }

  .from {
    margin-right: 6px;
    font-weight: 600;
    color: var(--_text);
  }

  .chat a {
    color: var(--_accent);
  }

  .chat form {
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
  }

  .chat textarea {
    flex: 1;
    resize: none;
    border-radius: 10px;
    background: none;
    color: inherit;
    font: inherit;
  }

  .chat .primary {
    padding: 8px 16px;
  }

  .chat-error {
    margin: 0;
    color: var(--_danger-text);
  }

  .chat-toggle {
    position: relative;
  }

  .unread {
    position: absolute;
    top: -4px;
    right: -4px;
    padding: 0 6px;
    border-radius: 9px;
    background: var(--_danger);
    color: var(--_on-danger);
    font-size: 11px;
    font-weight: 700;
  }
`;
