/**
 * Summarises a V8 `.cpuprofile` (from `deno run --cpu-prof`): the share of
 * sampled time each function spends itself ("self") and under it ("total").
 *
 * Usage: deno run -R bench/field/profile_summary.ts FILE.cpuprofile [top]
 *
 * @module
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One function's share of the sampled time, in percent. */
export interface ProfileRow {
  name: string;
  percent: number;
}

/**
 * The functions with the most self time and the most total time.
 *
 * @param json The `.cpuprofile` text.
 * @param top How many of each.
 * @returns Rows sorted by share, and the sampled time in ms.
 */
export function summarise(
  json: string,
  top = 15,
): { ms: number; self: ProfileRow[]; total: ProfileRow[] } {
  const profile: Profile = JSON.parse(json);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const label = (n: ProfileNode): string => {
    const { functionName, url, lineNumber } = n.callFrame;
    const file = url.split("/").slice(-2).join("/");
    return file
      ? `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`
      : functionName;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    all += dt;
    const node = byId.get(id)!;
    self.set(label(node), (self.get(label(node)) ?? 0) + dt);
    const seen = new Set<string>();
    for (
      let at: number | undefined = id;
      at !== undefined;
      at = parent.get(at)
    ) {
      const name = label(byId.get(at)!);
      if (seen.has(name)) continue;
      seen.add(name);
      total.set(name, (total.get(name) ?? 0) + dt);
    }
  });
  const rows = (map: Map<string, number>): ProfileRow[] =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({
      name,
      percent: (100 * us) / all,
    }));
  total.delete("(root)");
  return { ms: all / 1000, self: rows(self), total: rows(total) };
}

if (import.meta.main) {
  const { ms, self, total } = summarise(
    await Deno.readTextFile(Deno.args[0]!),
    Number(Deno.args[1] ?? 25),
  );
  const line = (r: ProfileRow) =>
    `${r.percent.toFixed(1).padStart(5)}%  ${r.name}`;
  console.log(`sampled: ${ms.toFixed(0)} ms\n\nby self time:`);
  self.forEach((r) => console.log(line(r)));
  console.log("\nby total time:");
  total.forEach((r) => console.log(line(r)));
}
