/**
 * The layer check (ARCHITECTURE.md): every import between folders of src/
 * must point down the layer table, and the Web-only layers must not import
 * `node:*`. Built on `deno info --json`, which works offline. Type-only
 * imports count too: a layer may not even name what sits above it.
 *
 * Run: deno run --allow-read --allow-run .ci/check_layers.ts [entry.ts …]
 * (default: every entry point in deno.json's exports). Exits 1 and lists
 * each upward import when there is one.
 *
 * @module
 */

/** What each layer may import, besides itself. */
export const ALLOWED: Record<string, readonly string[]> = {
  protocol: [],
  transport: ["protocol"],
  sasl: ["protocol"],
  mime: ["protocol"],
  dkim: ["protocol", "mime"],
  received: ["protocol", "mime"],
  session: ["protocol", "sasl", "transport", "mime", "dkim"],
  pool: ["protocol", "sasl", "transport", "mime", "dkim", "session"],
  outbox: ["protocol", "sasl", "transport", "mime", "dkim", "session", "pool"],
  testing: [
    "protocol",
    "sasl",
    "transport",
    "mime",
    "dkim",
    "received",
    "session",
    "pool",
  ],
  cli: [
    "protocol",
    "sasl",
    "transport",
    "mime",
    "dkim",
    "received",
    "session",
    "pool",
    "outbox",
  ],
};

/** Layers that run on any runtime: Web APIs only, no `node:*`. */
export const WEB_ONLY: ReadonlySet<string> = new Set([
  "protocol",
  "sasl",
  "session",
  "pool",
  "mime",
  "dkim",
  "received",
]);

interface Dependency {
  specifier: string;
  code?: { specifier: string };
  type?: { specifier: string };
}
interface Module {
  specifier: string;
  dependencies?: Dependency[];
}

/** One import that breaks the rule. */
export interface Violation {
  from: string;
  to: string;
  why: string;
}

/**
 * The layer of a module of this repository: the folder under src/, or
 * undefined for entry points, tests and anything outside src/.
 */
export function layerOf(path: string): string | undefined {
  const match = /\/src\/([a-z_]+)\//.exec(path);
  return match?.[1];
}

/**
 * Checks the imports of a module graph.
 *
 * @param modules `deno info --json`'s modules.
 * @param root The repository's file URL, ending with "/".
 * @returns Every import that breaks the rule.
 */
export function check(modules: readonly Module[], root: string): Violation[] {
  const violations: Violation[] = [];
  for (const module of modules) {
    if (!module.specifier.startsWith(root)) continue;
    const path = module.specifier.slice(root.length - 1);
    const from = layerOf(path);
    if (from === undefined) continue;
    const allowed = ALLOWED[from];
    if (!allowed) {
      violations.push({ from: path, to: "", why: `unknown layer "${from}"` });
      continue;
    }
    for (const dependency of module.dependencies ?? []) {
      const target = dependency.code?.specifier ?? dependency.type?.specifier ??
        dependency.specifier;
      if (target.startsWith("node:")) {
        if (WEB_ONLY.has(from)) {
          violations.push({
            from: path,
            to: target,
            why: `${from}/ is Web-only`,
          });
        }
        continue;
      }
      // Data (the version from deno.json) is not a layer.
      if (!target.startsWith(root) || target.endsWith(".json")) continue;
      const toPath = target.slice(root.length - 1);
      const to = layerOf(toPath);
      if (to === undefined) {
        violations.push({
          from: path,
          to: toPath,
          why: "src/ imports an entry point or a file outside src/",
        });
      } else if (to !== from && !allowed.includes(to)) {
        violations.push({
          from: path,
          to: toPath,
          why: `${from}/ may not import ${to}/`,
        });
      }
    }
  }
  return violations;
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url).href;
  let entries = Deno.args;
  if (entries.length === 0) {
    const config = JSON.parse(
      await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
    ) as { exports: Record<string, string> };
    entries = Object.values(config.exports);
  }
  const seen = new Set<string>();
  const modules: Module[] = [];
  for (const entry of entries) {
    const { stdout, success, stderr } = await new Deno.Command(
      Deno.execPath(),
      {
        args: ["info", "--json", new URL(entry, root).pathname],
        stdout: "piped",
        stderr: "piped",
      },
    ).output();
    if (!success) {
      console.error(new TextDecoder().decode(stderr));
      Deno.exit(2);
    }
    const info = JSON.parse(new TextDecoder().decode(stdout)) as {
      modules: Module[];
    };
    for (const module of info.modules) {
      if (seen.has(module.specifier)) continue;
      seen.add(module.specifier);
      modules.push(module);
    }
  }
  const violations = check(modules, root);
  for (const { from, to, why } of violations) {
    console.error(`layer check: ${from} -> ${to}: ${why}`);
  }
  if (violations.length > 0) Deno.exit(1);
  console.log(
    `layer check: ${modules.length} modules, every import points down`,
  );
}
