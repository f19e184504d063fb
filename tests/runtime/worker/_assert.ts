/**
 * The part of `node:assert/strict` the transport conformance suite uses,
 * for the Worker bundle: workerd has `node:assert` only with the
 * `nodejs_compat` flag, and the Worker proves that the library runs
 * without it. `import_map.json` maps `node:assert/strict` here when the
 * Worker is bundled; the semantics are node's strict ones (`Object.is`,
 * deep equality of plain data).
 *
 * @module
 */

/** What a failed assertion throws. */
export class AssertionError extends Error {
  /**
   * @param message What failed.
   */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function fail(message: string | undefined, fallback: string): never {
  throw new AssertionError(message ?? fallback);
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function deepEqualValues(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || !a || !b) {
    return false;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length &&
      a.every((item, i) => deepEqualValues(item, other[i]));
  }
  if (ArrayBuffer.isView(a)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const view = b as ArrayBufferView;
    const y = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    return x.length === y.length && x.every((byte, i) => byte === y[i]);
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length &&
    keysA.every((key) =>
      Object.hasOwn(b, key) &&
      deepEqualValues(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
      )
    );
}

/**
 * Asserts that `value` is truthy.
 *
 * @param value The value.
 * @param message The message on failure.
 */
function ok(value: unknown, message?: string): asserts value {
  if (!value) fail(message, `Expected a truthy value: ${show(value)}`);
}

/**
 * Asserts `Object.is(actual, expected)`.
 *
 * @param actual The value.
 * @param expected What it must be.
 * @param message The message on failure.
 */
function equal<T>(actual: unknown, expected: T, message?: string): void {
  if (!Object.is(actual, expected)) {
    fail(message, `Expected ${show(expected)}, got ${show(actual)}`);
  }
}

/**
 * Asserts that `actual` and `expected` are deeply and strictly equal.
 *
 * @param actual The value.
 * @param expected What it must be.
 * @param message The message on failure.
 */
function deepEqual<T>(actual: unknown, expected: T, message?: string): void {
  if (!deepEqualValues(actual, expected)) {
    fail(message, `Expected ${show(expected)}, got ${show(actual)}`);
  }
}

/**
 * Asserts that `text` matches `pattern`.
 *
 * @param text The string.
 * @param pattern The pattern.
 * @param message The message on failure.
 */
function match(text: string, pattern: RegExp, message?: string): void {
  if (typeof text !== "string" || !pattern.test(text)) {
    fail(message, `Expected ${show(text)} to match ${pattern}`);
  }
}

/**
 * Asserts that `text` does not match `pattern`.
 *
 * @param text The string.
 * @param pattern The pattern.
 * @param message The message on failure.
 */
function doesNotMatch(text: string, pattern: RegExp, message?: string): void {
  if (typeof text !== "string" || pattern.test(text)) {
    fail(message, `Expected ${show(text)} not to match ${pattern}`);
  }
}

/**
 * Asserts that `promise` rejects, and that `check` accepts the reason.
 *
 * @param promise What must reject (or a function returning it).
 * @param check Returns `true` for the expected reason.
 * @param message The message on failure.
 * @returns Once checked.
 */
async function rejects(
  promise: Promise<unknown> | (() => Promise<unknown>),
  check?: (error: unknown) => boolean,
  message?: string,
): Promise<void> {
  let caught: { error: unknown } | undefined;
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    caught = { error };
  }
  if (!caught) fail(message, "Expected a rejection");
  if (check && check(caught.error) !== true) {
    fail(
      message,
      `The rejection was not the expected one: ${
        caught.error instanceof Error
          ? caught.error.message
          : show(caught.error)
      }`,
    );
  }
}

/** The strict assertions, as `node:assert/strict`'s default export. */
const assert = Object.assign(ok, {
  ok,
  equal,
  strictEqual: equal,
  deepEqual,
  deepStrictEqual: deepEqual,
  match,
  doesNotMatch,
  rejects,
  AssertionError,
});

export default assert;
