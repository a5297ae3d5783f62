/**
 * The bundle's CSS minifier (`scripts/minify-css.ts`): what it removes, and what it must keep.
 */
import { describe, expect, test } from "vitest";
import { minifyCss, minifyCssTemplates } from "../scripts/minify-css.ts";

describe("minifyCss", () => {
  test.each([
    ["drops comments and indentation", "  /* why */\n  .a {\n    color: red;\n  }\n", ".a{color: red;}"],
    ["keeps descendant spaces and calc operators", ".a .b { width: calc(100% - 2 * var(--gap)); }", ".a .b{width: calc(100% - 2 * var(--gap));}"],
    ["joins selector lists and value lists", ".a,\n.b { font: 14px Inter, sans-serif; }", ".a,.b{font: 14px Inter,sans-serif;}"],
    ["keeps at-rule conditions", "@media (max-height: 480px) {\n  .a { padding: 0; }\n}", "@media (max-height: 480px){.a{padding: 0;}}"],
  ])("%s", (_name, input, output) => {
    expect(minifyCss(input)).toBe(output);
  });
});

describe("minifyCssTemplates", () => {
  test("minifies the body of css templates and leaves other templates and substitutions alone", () => {
    const source = "const a = css`\n  .a {\n    color: red;\n  }\n`;\nconst b = html`\n  <p>x</p>\n`;\nconst c = css`.a { ${x} }`;";
    expect(minifyCssTemplates(source)).toBe("const a = css`.a{color: red;}`;\nconst b = html`\n  <p>x</p>\n`;\nconst c = css`.a { ${x} }`;");
  });
});
