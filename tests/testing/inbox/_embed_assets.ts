// Writes src/testing/inbox/_assets.ts: the page's files (static/) as
// strings, so the inbox serves them wherever the package runs (from JSR,
// from npm, compiled) without reading files. Run it after editing static/:
//   deno task inbox:assets
// tests/testing/inbox/assets_test.ts fails while _assets.ts is stale.

const STATIC = new URL("../../../src/testing/inbox/static/", import.meta.url);
const OUT = new URL("../../../src/testing/inbox/_assets.ts", import.meta.url);

const TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "inbox.css": "text/css; charset=utf-8",
  "inbox.js": "text/javascript; charset=utf-8",
};

/** Formats TypeScript as `deno fmt` does. */
async function format(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=ts", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout } = await child.output();
  if (code !== 0) throw new Error("deno fmt failed on the assets module");
  return new TextDecoder().decode(stdout);
}

/**
 * The text of _assets.ts for the files of static/ as they are now,
 * formatted as `deno fmt` leaves it.
 */
export async function embedAssets(): Promise<string> {
  let out =
    "// Generated from static/ by tests/testing/inbox/_embed_assets.ts\n" +
    "// (deno task inbox:assets): edit the files there, not this one.\n\n" +
    "/** A file of the page. */\n" +
    "export interface Asset {\n" +
    "  /** Its media type. */\n" +
    "  type: string;\n" +
    "  /** Its text. */\n" +
    "  body: string;\n" +
    "}\n\n" +
    "/** The page's files, by name. */\n" +
    "export const ASSETS: Record<string, Asset> = {\n";
  for (const [name, type] of Object.entries(TYPES)) {
    const body = await Deno.readTextFile(new URL(name, STATIC));
    out += `  "${name}": {\n    type: "${type}",\n    body: ${
      JSON.stringify(body)
    },\n  },\n`;
  }
  return await format(out + "};\n");
}

/** The file written. */
export const ASSETS_MODULE: URL = OUT;

if (import.meta.main) {
  await Deno.writeTextFile(OUT, await embedAssets());
  console.log(`wrote ${OUT.pathname}`);
}
