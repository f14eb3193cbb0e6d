// Parse each file named on the command line with Mermaid's own parser (mermaid.parse), as
// GitHub's renderer would before drawing it. Prints "ok FILE" or "FAIL FILE: message"; exits 1
// if any fails. Mermaid needs a DOM to load, which jsdom provides.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    await mermaid.parse(readFileSync(file, "utf8"));
    console.log(`ok ${file}`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${file}: ${String(error?.message ?? error).split("\n").join(" ")}`);
  }
}
process.exit(failed ? 1 : 0);
