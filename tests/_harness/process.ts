/**
 * A child process whose stdout is read line by line and whose stderr is
 * kept, disposed by killing it and awaiting its status and both pipes, so
 * Deno's op and resource sanitizers stay clean.
 *
 * @module
 */

/** A running child process with line-based access to its stdout. */
export class ChildLines implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #name: string;
  readonly #lines: string[] = [];
  #waiters: (() => void)[] = [];
  #stderr = "";
  #stdoutClosed = false;
  readonly #pipes: Promise<void>;
  readonly #status: Promise<Deno.CommandStatus>;
  #exited: Deno.CommandStatus | undefined;
  #disposed = false;

  /**
   * Spawns `command` with stdin closed and stdout/stderr piped.
   *
   * @param command The executable.
   * @param args Its arguments.
   * @param options Extra spawn options (cwd, env).
   */
  constructor(
    command: string,
    args: string[],
    options: { cwd?: string; env?: Record<string, string> } = {},
  ) {
    this.#name = command.split("/").pop() ?? command;
    this.#child = new Deno.Command(command, {
      args,
      ...options,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#status = this.#child.status.then((status) => {
      this.#exited = status;
      this.#wake();
      return status;
    });
    this.#pipes = Promise.all([this.#readStdout(), this.#readStderr()])
      .then(() => {});
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Everything the process wrote to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** The exit status, once the process has exited. */
  get exitStatus(): Deno.CommandStatus | undefined {
    return this.#exited;
  }

  /** Resolves with the exit status when the process exits. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#status;
  }

  /**
   * Waits for the next non-empty stdout line (lines end at `\n` or `\r`).
   *
   * @param timeoutMs How long to wait.
   * @returns The line, or `null` once stdout is closed.
   * @throws {Error} When no line arrives in time.
   */
  async nextLine(timeoutMs: number): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.#lines.length === 0) {
      if (this.#stdoutClosed) return null;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for output of ${this.#name}${this.#describe()}`,
        );
      }
      await this.#wait(left);
    }
    return this.#lines.shift()!;
  }

  /**
   * Waits until `check` returns something other than `undefined`, calling
   * it again whenever output arrives or the process exits.
   *
   * @param check Called with nothing; returns the awaited value when ready.
   * @param timeoutMs How long to wait.
   * @param what Description for the timeout error.
   * @returns What `check` returned.
   * @throws {Error} On timeout or when the process exits first.
   */
  async waitFor<T>(
    check: () => T | undefined,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      if (this.#exited) {
        throw new Error(
          `Cannot wait for ${what}: ${this.#name} exited${this.#describe()}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for ${what}${this.#describe()}`,
        );
      }
      await this.#wait(Math.min(left, 50));
    }
  }

  /** Lines received but not yet taken with {@linkcode nextLine}. */
  takeLines(): string[] {
    return this.#lines.splice(0);
  }

  /** Kills the process (SIGTERM), awaits its status and drains its pipes. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    if (!this.#exited) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // exited meanwhile
      }
    }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // exited meanwhile
      }
    }, 3000);
    try {
      await this.#status;
      await this.#pipes;
    } finally {
      clearTimeout(timer);
    }
  }

  #describe(): string {
    const parts: string[] = [];
    if (this.#exited) parts.push(`exit code ${this.#exited.code}`);
    const err = this.#stderr.trim();
    if (err) parts.push(`stderr: ${err.slice(-2000)}`);
    return parts.length ? ` (${parts.join("; ")})` : "";
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve();
      }, ms);
      this.#waiters.push(wake);
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  async #readStdout(): Promise<void> {
    let pending = "";
    try {
      for await (
        const text of this.#child.stdout.pipeThrough(new TextDecoderStream())
      ) {
        pending += text;
        const parts = pending.split(/[\r\n]+/);
        pending = parts.pop()!;
        const lines = parts.filter((line) => line !== "");
        if (lines.length) {
          this.#lines.push(...lines);
          this.#wake();
        }
      }
    } finally {
      if (pending) this.#lines.push(pending);
      this.#stdoutClosed = true;
      this.#wake();
    }
  }

  async #readStderr(): Promise<void> {
    for await (
      const text of this.#child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      this.#stderr += text;
      if (this.#stderr.length > 100_000) {
        this.#stderr = this.#stderr.slice(-50_000);
      }
      this.#wake();
    }
  }
}
