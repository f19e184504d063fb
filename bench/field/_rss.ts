/**
 * Peak resident set size of this process: sampled at an interval, and the
 * kernel's high-water mark (VmHWM) where /proc is readable.
 *
 * @module
 */

/** Samples RSS every `intervalMs` until stopped. */
export class RssSampler {
  /** RSS when the sampler started, in bytes. */
  readonly baseline: number;
  #peak: number;
  #timer: ReturnType<typeof setInterval>;

  /** @param intervalMs How often to sample. */
  constructor(intervalMs = 5) {
    this.baseline = Deno.memoryUsage().rss;
    this.#peak = this.baseline;
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Takes one sample now (call it from hot loops too). */
  sample(): void {
    const rss = Deno.memoryUsage().rss;
    if (rss > this.#peak) this.#peak = rss;
  }

  /** Stops sampling; returns the baseline, peak and VmHWM in bytes. */
  stop(): { baseline: number; peak: number; hwm: number | null } {
    clearInterval(this.#timer);
    this.sample();
    return { baseline: this.baseline, peak: this.#peak, hwm: vmHwm() };
  }
}

/** The kernel's peak RSS of this process, in bytes, or null. */
export function vmHwm(): number | null {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : null;
  } catch {
    return null;
  }
}
