/**
 * SQLite-backed Deno KV throws "database is locked" when another process
 * holds the write lock past its busy timeout. Such a call did nothing and
 * may simply be made again: these helpers do, with a growing, jittered
 * pause. Deno KV gives no error class or code for it, so its message is the
 * only sign.
 *
 * @module
 */

/** Tries before the error is let through (about 20 s of pauses in all). */
const MAX_TRIES = 60;
/** The longest pause between two tries, in ms. */
const MAX_PAUSE = 500;

/** Whether an error is SQLite's "database is locked" (or "busy"). */
export function isLocked(error: unknown): boolean {
  return error instanceof Error &&
    /database is locked|database table is locked|SQLITE_BUSY/i.test(
      error.message,
    );
}

/**
 * Runs `call` until it does not fail with "database is locked".
 *
 * @param call The KV call; it must be safe to make again after such a
 * failure (each try builds its own atomic operation).
 * @returns What `call` returns.
 * @throws What `call` throws, other than a lock error; the lock error after
 * {@linkcode MAX_TRIES} tries.
 */
export async function retryLocked<T>(call: () => Promise<T>): Promise<T> {
  for (let tries = 1;; tries++) {
    try {
      return await call();
    } catch (error) {
      if (!isLocked(error) || tries >= MAX_TRIES) throw error;
      const pause = Math.min(MAX_PAUSE, 2 ** Math.min(tries, 9));
      await new Promise((resolve) =>
        setTimeout(resolve, pause * (0.5 + Math.random()))
      );
    }
  }
}
