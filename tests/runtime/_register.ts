/**
 * Registers test cases with the runner of the runtime they run on:
 * `bun:test` under Bun, `node:test` under Node. A skipped case says why in
 * its name.
 *
 * @module
 */

/** A case: a name, a body, and why it is skipped when it is. */
export interface RuntimeCase {
  /** "Symbol does X when Y". */
  name: string;
  /** The body; rejects on failure. */
  fn: () => Promise<void>;
  /** Why the case is skipped here, when it is. */
  ignore?: string;
  /**
   * Why the case is expected to fail here for now: it runs, and its
   * failure is reported without failing the run (node:test's `todo`).
   */
  todo?: string;
}

/** How long one case may take before the runner fails it. */
const TIMEOUT = 60_000;

interface BunTest {
  test: ((name: string, fn: () => Promise<void>, timeout?: number) => void) & {
    skip(name: string, fn: () => Promise<void>): void;
  };
}

/**
 * Registers `cases` with this runtime's test runner.
 *
 * @param cases The cases.
 * @returns Once they are registered.
 */
export async function register(cases: RuntimeCase[]): Promise<void> {
  const skipped = (c: RuntimeCase) => `${c.name} (skipped: ${c.ignore})`;
  if ("Bun" in globalThis) {
    // Not a literal: only Bun can resolve it, and only Bun reaches here.
    const specifier = "bun:test";
    const { test } = await import(specifier) as BunTest;
    for (const c of cases) {
      if (c.ignore !== undefined) test.skip(skipped(c), c.fn);
      else test(c.todo ? `${c.name} (todo: ${c.todo})` : c.name, c.fn, TIMEOUT);
    }
    return;
  }
  const { test } = await import("node:test");
  for (const c of cases) {
    if (c.ignore !== undefined) test(skipped(c), { skip: c.ignore }, c.fn);
    else if (c.todo !== undefined) {
      test(
        `${c.name} (todo: ${c.todo})`,
        { timeout: TIMEOUT, todo: c.todo },
        c.fn,
      );
    } else test(c.name, { timeout: TIMEOUT }, c.fn);
  }
}
