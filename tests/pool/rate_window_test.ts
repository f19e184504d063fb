// The pool's sliding-window limiter, with plain numbers for a clock.

import assert from "node:assert/strict";
import { RateWindow } from "../../src/pool/_rate_window.ts";

/** Whether any window of `per` ms (half-open) holds more than `limit`. */
function worstWindow(times: number[], per: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let worst = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j]! - sorted[i]! >= per) i++;
    worst = Math.max(worst, j - i + 1);
  }
  return worst;
}

Deno.test("RateWindow allows `limit` at once, then waits until the oldest begin leaves the window", () => {
  const window = new RateWindow(3, 1000);
  assert.equal(window.available(0), 3);
  for (let i = 0; i < 3; i++) {
    assert.equal(window.delay(i * 10), 0);
    window.reserve();
    window.begin(i * 10);
  }
  assert.equal(window.available(20), 0);
  // The begin at 0 leaves the window at 1000 exactly.
  assert.equal(window.delay(20), 980);
  assert.equal(window.delay(999), 1);
  assert.equal(window.delay(1000), 0);
  assert.equal(window.available(1000), 1);
  assert.equal(window.available(1010), 2);
  assert.equal(window.available(1020), 3);
});

Deno.test("RateWindow counts a reserved message that has not begun, and frees it on release", () => {
  const window = new RateWindow(2, 500);
  window.reserve();
  window.reserve();
  assert.equal(window.pending, 2);
  // Both reserved, none begun: only a begin or a release frees a place.
  assert.equal(window.delay(0), Infinity);
  window.release();
  assert.equal(window.delay(0), 0);
  window.begin(100);
  assert.equal(window.pending, 0);
  assert.equal(window.available(100), 1);
  window.reserve();
  window.begin(400);
  assert.equal(window.delay(450), 150);
});

Deno.test("RateWindow never lets more than `limit` begin in any window when messages begin late after their reservation", () => {
  // A seeded generator: the same sequences every run.
  let seed = 0x2545f491;
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  for (const [limit, per] of [[1, 100], [3, 1000], [10, 250], [7, 60]]) {
    const window = new RateWindow(limit!, per!);
    const begins: number[] = [];
    /** Reserved messages and when each will begin (or give up). */
    let waiting: { at: number; begins: boolean }[] = [];
    let now = 0;
    for (let step = 0; step < 5000; step++) {
      now += Math.floor(random() * per! / 4);
      // Messages whose MAIL goes out now (they waited behind another send
      // on their connection), or that fail before it.
      const due = waiting.filter((w) => w.at <= now).sort((a, b) =>
        a.at - b.at
      );
      waiting = waiting.filter((w) => w.at > now);
      for (const w of due) {
        if (w.begins) {
          window.begin(now);
          begins.push(now);
        } else window.release();
      }
      // Assign as many as the window allows.
      while (random() < 0.8 && window.delay(now) === 0) {
        window.reserve();
        waiting.push({
          at: now + Math.floor(random() * per! * 2),
          begins: random() < 0.9,
        });
      }
    }
    assert.ok(begins.length > 100, `${begins.length} begins`);
    assert.ok(
      worstWindow(begins, per!) <= limit!,
      `limit ${limit} per ${per}: ${worstWindow(begins, per!)} in one window`,
    );
  }
});

Deno.test("RateWindow keeps the limit when a full window's worth begins at once right after another (where a token bucket bursts to twice the limit)", () => {
  const window = new RateWindow(5, 1000);
  const begins: number[] = [];
  const take = (now: number) => {
    while (window.delay(now) === 0) {
      window.reserve();
      window.begin(now);
      begins.push(now);
    }
  };
  take(999); // five at the end of one second
  take(1001); // none may follow at the start of the next
  assert.deepEqual(begins, [999, 999, 999, 999, 999]);
  take(1999);
  take(2000);
  assert.equal(worstWindow(begins, 1000), 5);
  assert.equal(begins.length, 10);
});

Deno.test("RateWindow forgets old begins, so a long run keeps its memory small", () => {
  const window = new RateWindow(2, 10);
  for (let now = 0; now < 100_000; now += 5) {
    assert.equal(window.delay(now), 0);
    window.reserve();
    window.begin(now);
  }
  assert.equal(window.available(100_000), 1);
  assert.equal(window.available(100_010), 2);
});
