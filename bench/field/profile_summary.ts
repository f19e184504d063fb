/**
 * Summarises a V8 `.cpuprofile` (from `deno run --cpu-prof`): self time and
 * total time per function, the top entries by each.
 *
 * Usage: deno run -R bench/field/profile_summary.ts FILE.cpuprofile [top]
 *
 * @module
 */

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const profile: Profile = JSON.parse(await Deno.readTextFile(Deno.args[0]!));
const top = Number(Deno.args[1] ?? 25);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) {
  for (const c of n.children ?? []) parent.set(c, n.id);
}
const label = (n: Node): string => {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.split("/").slice(-2).join("/");
  return `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
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
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const l = label(byId.get(at)!);
    if (seen.has(l)) continue;
    seen.add(l);
    total.set(l, (total.get(l) ?? 0) + dt);
  }
});
const pct = (us: number) => (100 * us / all).toFixed(1).padStart(5) + "%";
console.log(`total sampled: ${(all / 1000).toFixed(0)} ms`);
console.log("\nby self time:");
for (const [l, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)}  ${l}`);
}
console.log("\nby total time:");
for (const [l, us] of [...total].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)}  ${l}`);
}
