/**
 * The bundle's minification of Lit `css` literals (scripts/css-literals.ts).
 */
import { describe, expect, test } from "vitest";
import { minifyCssLiterals } from "../scripts/css-literals.ts";

describe("minifyCssLiterals", () => {
  test("drops comments and indentation of a plain css literal, keeping selectors and values apart", () => {
    const source = "const styles = css`\n  /* grid */\n  .a :hover,\n  .b > .c {\n    font-family: \"Segoe UI\", sans-serif;\n    margin: 0 auto;\n  }\n`;";
    expect(minifyCssLiterals(source)).toBe('const styles = css`.a :hover, .b > .c{font-family: "Segoe UI", sans-serif;margin: 0 auto;}`;');
  });

  test("leaves literals with substitutions and other tags alone", () => {
    const source = "css`\n  .a { color: ${colour}; }\n`; html`\n  <p>  two  spaces </p>\n`;";
    expect(minifyCssLiterals(source)).toBe(source);
  });
});
