/**
 * The pool's rate limit: at most `limit` messages begin (MAIL sent) in any
 * window of `per` ms, a sliding window over the times messages began. Pure:
 * the caller passes the clock.
 *
 * A message is counted from the moment it is assigned to a connection
 * (`reserve()`), before its MAIL goes out, until it either begins
 * (`begin(now)`: then its begin time is kept for `per` ms) or gives up
 * without sending anything (`release()`). A reservation is allowed only
 * while the messages that began in the last `per` ms plus those reserved
 * and not begun yet are fewer than `limit`. That holds the limit for the
 * times MAIL actually goes out, although a message may wait behind another
 * on its connection after it was assigned: for any window, the message of
 * it assigned last was assigned when every other one of it had begun within
 * `per` ms before, or not begun yet, so at most `limit - 1` others were
 * counted then. A token bucket, by contrast, lets a full bucket go at once
 * right after a window's worth already went.
 *
 * @module
 */

/** A sliding-window limiter over begin times. */
export class RateWindow {
  readonly #limit: number;
  readonly #per: number;
  /** Begin times still in the window, oldest first, from `#head` on. */
  #starts: number[] = [];
  #head = 0;
  /** Reserved and not begun yet. */
  #pending = 0;

  /**
   * @param limit At most this many begins in any window (an integer ≥ 1).
   * @param per The window, in ms (> 0).
   */
  constructor(limit: number, per: number) {
    this.#limit = limit;
    this.#per = per;
  }

  /** Reservations not begun nor released yet. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * How many reservations may be made at `now`.
   *
   * @param now The clock, in ms (never less than an earlier call's).
   * @returns A count ≥ 0.
   */
  available(now: number): number {
    this.#prune(now);
    return Math.max(0, this.#limit - this.#inWindow() - this.#pending);
  }

  /**
   * How long until a reservation may be made.
   *
   * @param now The clock, in ms.
   * @returns 0 when one may be made now; `Infinity` when only a `begin` or
   * a `release` can free one (every slot is reserved).
   */
  delay(now: number): number {
    this.#prune(now);
    const used = this.#inWindow() + this.#pending;
    if (used < this.#limit) return 0;
    if (this.#pending >= this.#limit) return Infinity;
    // The begin that must leave the window first.
    const leaving = this.#starts[this.#head + used - this.#limit]!;
    return Math.max(0, leaving + this.#per - now);
  }

  /** Counts a message assigned to a connection, before its MAIL. */
  reserve(): void {
    this.#pending++;
  }

  /**
   * A reserved message sent its MAIL.
   *
   * @param now The clock, in ms.
   */
  begin(now: number): void {
    if (this.#pending > 0) this.#pending--;
    this.#starts.push(now);
  }

  /** A reserved message gave up before its MAIL went out. */
  release(): void {
    if (this.#pending > 0) this.#pending--;
  }

  #inWindow(): number {
    return this.#starts.length - this.#head;
  }

  /** Forgets begins at or before `now - per`: they left every window. */
  #prune(now: number): void {
    const starts = this.#starts;
    const edge = now - this.#per;
    while (this.#head < starts.length && starts[this.#head]! <= edge) {
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > starts.length) {
      this.#starts = starts.slice(this.#head);
      this.#head = 0;
    }
  }
}
