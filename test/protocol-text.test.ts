/**
 * The character rules for display names and user ids (`shared/protocol/text.ts`), through the
 * schemas that use them.
 */
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { UserIdSchema, UsernameSchema, USERNAME_MAX_LENGTH } from "../shared/protocol/index.ts";
import { hasVisibleCharacter, isDisplayableText } from "../shared/protocol/text.ts";

describe("UsernameSchema and UserIdSchema (happy path)", () => {
  it.each([
    ["plain ASCII", "Ada", "Ada"],
    ["trimmed spaces", "  Ada  ", "Ada"],
    ["an ideographic space trimmed", "\u3000Ada\u3000", "Ada"],
    ["an emoji ZWJ sequence", "👨‍👩‍👧", "👨‍👩‍👧"],
    ["an emoji with a variation selector", "❤️", "❤️"],
    ["Persian with ZWNJ", "می‌خواهم", "می‌خواهم"],
    ["Arabic", "فرهاد", "فرهاد"],
    ["Hebrew with digits", "דוד 2", "דוד 2"],
    ["Devanagari with ZWJ", "क्‍ष", "क्‍ष"],
    ["an astral character (well-formed surrogate pair)", "𝒜da", "𝒜da"],
    ["a soft hyphen inside a word", "Lovel\u00ADace", "Lovel\u00ADace"],
    [`exactly ${USERNAME_MAX_LENGTH} characters`, "x".repeat(USERNAME_MAX_LENGTH), "x".repeat(USERNAME_MAX_LENGTH)],
  ])("accept %s", (_name, input, output) => {
    expect(v.parse(UsernameSchema, input)).toBe(output);
    expect(v.parse(UserIdSchema, input)).toBe(output);
  });
});

describe("UsernameSchema and UserIdSchema (failure cases)", () => {
  it.each([
    ["empty", "", /empty/],
    ["only spaces", "   ", /empty/],
    [`over ${USERNAME_MAX_LENGTH} characters`, "x".repeat(USERNAME_MAX_LENGTH + 1), /at most/],
    ["NUL", "a\u0000", /control/],
    ["ESC (C0)", "a\u001b[2J", /control/],
    ["DEL", "a\u007f", /control/],
    ["U+0085 NEL (C1)", "a\u0085b", /control/],
    ["U+009B CSI (C1)", "a\u009b31m", /control/],
    ["a lone high surrogate", "\uD800", /surrogate/],
    ["a lone low surrogate", "a\uDFFF", /surrogate/],
    ["a reversed pair", "\uDC00\uD800", /surrogate/],
    ["LRE U+202A", "a\u202Ab", /bidirectional/],
    ["RLO U+202E", "\u202Eexe.txt", /bidirectional/],
    ["PDF U+202C", "a\u202C", /bidirectional/],
    ["LRI U+2066", "a\u2066b", /bidirectional/],
    ["PDI U+2069", "a\u2069", /bidirectional/],
    ["LRM U+200E", "a\u200E", /bidirectional/],
    ["RLM U+200F", "a\u200F", /bidirectional/],
    ["ALM U+061C", "a\u061C", /bidirectional/],
    ["U+2028 line separator", "a\u2028b", /separators/],
    ["U+2029 paragraph separator", "a\u2029b", /separators/],
    ["an interlinear annotation", "a\uFFF9hidden\uFFFBb", /annotation/],
    ["only ZWSP", "\u200B", /visible/],
    ["only ZWNJ and ZWJ", "\u200C\u200D", /visible/],
    ["only a word joiner", "\u2060", /visible/],
    ["only a BOM inside spaces", " \uFEFF\u200B ", /visible/],
    ["only a soft hyphen", "\u00AD", /visible/],
    ["only U+180E", "\u180E", /visible/],
    ["only Hangul fillers", "\u115F\u1160\u3164\uFFA0", /visible/],
    ["only variation selectors", "\uFE0F\uFE0E", /visible/],
    ["only a combining grapheme joiner", "\u034F", /visible/],
    ["only tag characters", "\u{E0041}\u{E0042}", /visible/],
    ["only braille blanks", "\u2800\u2800", /visible/],
  ])("refuse %s", (_name, input, message) => {
    for (const schema of [UsernameSchema, UserIdSchema]) {
      const result = v.safeParse(schema, input);
      expect(result.success).toBe(false);
      expect(result.issues?.[0]?.message).toMatch(message);
    }
  });
});

describe("isDisplayableText and hasVisibleCharacter", () => {
  it("agree with the schemas on the characters alone", () => {
    expect(isDisplayableText("Ada")).toBe(true);
    expect(isDisplayableText("\u200B")).toBe(false);
    expect(isDisplayableText("a\u202E")).toBe(false);
    expect(hasVisibleCharacter("\u200Ba")).toBe(true);
    expect(hasVisibleCharacter("\u00A0\u2007")).toBe(false);
  });
});
