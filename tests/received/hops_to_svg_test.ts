import assert from "node:assert/strict";
import { hopsToSvg, traceHops } from "../../received.ts";
import { interop } from "../_harness/mod.ts";
import { parseXml } from "./_checkers.ts";
import { fixtureMessage } from "./_corpus.ts";
import { EVIL, EVIL_HOPS, shown } from "./_evil_hops.ts";

const SVG = "{http://www.w3.org/2000/svg}";
/** The only elements the picture is drawn with. */
const ELEMENTS = new Set(
  ["svg", "title", "defs", "marker", "path", "rect", "g", "text", "line"].map(
    (name) => SVG + name,
  ),
);

Deno.test("hopsToSvg draws a box per host and a labelled arrow per hop", () => {
  const svg = hopsToSvg(traceHops(fixtureMessage("aixigo_git.eml")));
  assert.match(
    svg,
    /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+" /,
  );
  assert.ok(svg.endsWith("</svg>\n"));
  assert.equal(svg.match(/<rect x=/g)?.length, 9); // 7 hops, 1 break
  assert.equal(svg.match(/<line /g)?.length, 8);
  assert.match(
    svg,
    /<title>The path of a message: 7 hops, \+8 s in all<\/title>/,
  );
  assert.match(svg, />vmdpcl078\.ac\.aixigo\.de</);
  assert.match(svg, />-1 s \(clock skew\)</);
  assert.match(svg, /stroke-dasharray="5 4" marker-end="url\(#arrow-break\)"/);
});

Deno.test("hopsToSvg refers to nothing outside itself", () => {
  for (
    const svg of [
      hopsToSvg(EVIL_HOPS),
      hopsToSvg(traceHops(fixtureMessage("amd_exchange.eml"))),
    ]
  ) {
    assert.doesNotMatch(
      svg,
      /<script|<image|<use|<style|<foreignObject|href=|@import|url\((?!#arrow-)/i,
    );
  }
});

Deno.test(interop({
  name:
    "hopsToSvg output is well-formed XML for every corpus message, no hops, and hostile fields",
  requires: ["python3"],
  async fn() {
    const docs = [
      ...[
        "aixigo_git.eml",
        "amd_exchange.eml",
        "xen_exim.eml",
        "gmail_kvack.eml",
      ]
        .map((name) => hopsToSvg(traceHops(fixtureMessage(name)))),
      hopsToSvg([]),
      hopsToSvg(EVIL_HOPS),
    ];
    const results = await parseXml(docs);
    for (const [i, result] of results.entries()) {
      assert.equal(result.error, undefined, `document ${i}`);
      assert.equal(result.root, `${SVG}svg`);
      for (const tag of result.tags!) assert.ok(ELEMENTS.has(tag), tag);
    }
    // Every hostile text is drawn as it is, not as markup.
    const evil = results.at(-1)!;
    const texts = new Set(evil.texts);
    for (const text of EVIL) {
      assert.ok(texts.has(shown(text)), JSON.stringify(text));
    }
    assert.ok(results.at(-2)!.texts!.includes("no Received fields"));
  },
}));
