/**
 * Importing the client costs only its core: the MIME composer, the SASL
 * mechanisms and the DKIM signing code are loaded by the sessions that use
 * them (`src/session/_lazy_parts.ts`). On Node, where each module file is
 * read and linked one at a time, the number of files imported is most of a
 * cold start (see bench/COLD_START.md). This reads the static import graph
 * with `deno info --json` (offline) and fails when one of those parts
 * comes back into it.
 */
import assert from "node:assert/strict";

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface GraphModule {
  specifier: string;
  dependencies?: Dependency[];
}

const ROOT = new URL("../../", import.meta.url);

/** The files an import of `entry` loads before any of its code runs. */
async function staticGraph(entry: string): Promise<string[]> {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(entry, ROOT).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.equal(code, 0);
  const graph = JSON.parse(new TextDecoder().decode(stdout)) as {
    roots: string[];
    modules: GraphModule[];
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...graph.roots];
  while (stack.length > 0) {
    const specifier = stack.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      // Type-only imports have no `code`; `import()` is dynamic.
      if (dependency.code && !dependency.isDynamic) {
        stack.push(dependency.code.specifier);
      }
    }
  }
  return [...seen].map((s) => s.slice(ROOT.href.length)).sort();
}

const LAZY = [
  /^src\/mime\/(?!mail\.ts$)/, // the composer (mail.ts holds only types)
  /^src\/sasl\/_(plain|login|cram_md5|md5|scram|xoauth2|oauthbearer|oauth|mechanisms)\.ts$/,
  /^src\/dkim\/_(two_pass|canonical|sha256|signature_field)\.ts$/,
  /^src\/transport\/(node|cloudflare)_connect\.ts$/,
];

Deno.test("importing mod.ts loads no composer, mechanism or signing code", async () => {
  const files = await staticGraph("mod.ts");
  assert.ok(files.includes("src/session/smtp_client.ts"), files.join("\n"));
  const eager = files.filter((file) => LAZY.some((lazy) => lazy.test(file)));
  assert.deepEqual(eager, []);
});

Deno.test("the lazily loaded parts are still in the graph, as dynamic imports", async () => {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("mod.ts", ROOT).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  const all = (JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: GraphModule[];
  }).modules.map((m) => m.specifier.slice(ROOT.href.length));
  // A bundler (deno bundle for a Worker) and `deno compile` find them.
  for (
    const file of [
      "src/mime/compose_message.ts",
      "src/sasl/_mechanisms.ts",
      "src/dkim/_two_pass.ts",
    ]
  ) {
    assert.ok(all.includes(file), file);
  }
});
