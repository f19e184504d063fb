// Issue 11 items 5 and 8: memory a hostile peer cannot make us hold. Each
// scenario runs in a process of its own (tests/faults/_memory_probe.ts,
// with --expose-gc) that reports the JS heap plus array buffers after
// garbage collection. Measured on the machine this was written on: 2.4 MiB
// held for the refused recipients (83 MiB before the fix), 0.3 MiB at peak
// for a 48 MiB message over SIZE (39 MiB for DATA, 44 MiB for BDAT
// before), 2,005 transcript entries for 100,000 NOOPs (200,004 before).

import assert from "node:assert/strict";
import { interop } from "../_harness/mod.ts";

const PROBE = new URL("./_memory_probe.ts", import.meta.url).pathname;

interface Figures {
  heldMiB: number;
  peakMiB: number;
  sentMiB: number;
  rejected: number;
  stored: number;
  entries: number;
  dropped: number;
  sends: number;
}

async function probe(scenario: string): Promise<Figures> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", PROBE, scenario],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return JSON.parse(lines.at(-1)!);
}

Deno.test("SmtpClient keeps under 8 MiB for 40 recipients each refused with a 1 MB reply", async () => {
  const { heldMiB, rejected, sentMiB } = await probe("rejected-recipients");
  assert.equal(rejected, 40);
  assert.ok(sentMiB > 35, String(sentMiB));
  assert.ok(heldMiB < 8, `held ${heldMiB.toFixed(1)} MiB`);
});

for (const mode of ["data", "bdat"]) {
  Deno.test(`startTestServer holds under 8 MiB of a 48 MiB ${mode.toUpperCase()} message over its SIZE`, async () => {
    const { peakMiB, heldMiB, stored } = await probe(`oversized-${mode}`);
    assert.equal(stored, 0);
    assert.ok(peakMiB < 8, `peak ${peakMiB.toFixed(1)} MiB`);
    assert.ok(heldMiB < 8, `held ${heldMiB.toFixed(1)} MiB`);
  });
}

Deno.test("startTestServer keeps the head and the tail of a transcript of 100,000 NOOPs", async () => {
  const { entries, dropped, heldMiB } = await probe("noops");
  assert.ok(entries <= 3001, String(entries));
  assert.ok(dropped >= 190_000, String(dropped));
  assert.ok(heldMiB < 8, `held ${heldMiB.toFixed(1)} MiB`);
});

Deno.test(interop({
  name:
    "SmtpClient does not grow over 10,000 sends on one connection (24 MiB before the fix, under 1 MiB now)",
  requires: ["smtp-sink"],
  async fn() {
    const { heldMiB, sends } = await probe("long-lived-client");
    assert.equal(sends, 10_000);
    assert.ok(heldMiB < 4, `grew ${heldMiB.toFixed(1)} MiB`);
  },
}));
