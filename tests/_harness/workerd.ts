/**
 * workerd, Cloudflare's Workers runtime (npm `workerd`, installed by
 * `.ci/install_runtimes` into `.ci/_runtimes/workerd`), as a disposable
 * test server: one ES-module Worker, a generated Cap'n Proto config, a
 * free loopback port. Its outbound network may reach loopback only, and
 * trusts the given CA certificates besides its roots, which is how a
 * Worker under test reaches the servers the test process runs and verifies
 * their test certificates.
 *
 * @module
 */

import { freePort, waitForPort } from "./net.ts";
import { ChildLines } from "./process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * Where workerd is: `SENDMAIL_WORKERD`, else `.ci/_runtimes/workerd`.
 *
 * @returns The binary's path, or `undefined` when it is not installed.
 */
export function workerdBinary(): string | undefined {
  const given = Deno.env.get("SENDMAIL_WORKERD");
  const path = given ||
    `${ROOT}.ci/_runtimes/workerd/node_modules/.bin/workerd`;
  try {
    return Deno.statSync(path).isFile ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Options for {@linkcode startWorkerd}. */
export interface WorkerdOptions {
  /** The Worker: one ES module, already bundled. */
  module: string;
  /** CA certificates (PEM) the Worker's outbound TLS trusts besides the roots. */
  trustedCertificates?: string[];
  /** Text bindings of the Worker (`env.NAME`). */
  bindings?: Record<string, string>;
  /** Compatibility flags (none by default: no `nodejs_compat`). */
  compatibilityFlags?: string[];
  /** @default {"2025-09-01"} */
  compatibilityDate?: string;
}

/** A running workerd; dispose it with `await using`. */
export interface Workerd extends AsyncDisposable {
  /** The Worker's URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The config it runs, for diagnostics. */
  readonly config: string;
  /** What workerd logged to stderr so far. */
  readonly log: string;
  /**
   * POSTs `body` as JSON to `path` (GET without a body) and parses the
   * JSON answer.
   *
   * @param path The route, e.g. `"/sendmail"`.
   * @param body The request body.
   * @returns The parsed answer.
   */
  call<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T>;
}

/** A Cap'n Proto text literal. */
function capnpString(text: string): string {
  return JSON.stringify(text);
}

/**
 * Starts workerd with `options.module` as its only Worker and waits until
 * it answers.
 *
 * @param options The Worker, its trust and bindings.
 * @returns The running workerd.
 * @throws {Error} When workerd is not installed or does not start.
 */
export async function startWorkerd(options: WorkerdOptions): Promise<Workerd> {
  const binary = workerdBinary();
  if (!binary) {
    throw new Error(
      "Cannot start workerd: not installed (bash .ci/install_runtimes)",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "sendmail_workerd_" });
  try {
    await Deno.writeTextFile(`${dir}/worker.js`, options.module);
    for (let attempt = 0;; attempt++) {
      const port = freePort();
      const config = configText(options, port);
      await Deno.writeTextFile(`${dir}/config.capnp`, config);
      const child = new ChildLines(binary, ["serve", "config.capnp"], {
        cwd: dir,
      });
      try {
        await waitForPort("127.0.0.1", port, {
          timeoutMs: 20_000,
          alive: () => child.exitStatus === undefined,
        });
        return new Running(child, dir, port, config);
      } catch (error) {
        await child[Symbol.asyncDispose]();
        // Another process may have taken the port in between.
        if (attempt < 2 && /Address already in use/i.test(child.stderr)) {
          continue;
        }
        throw new Error(
          `Cannot start workerd: ${
            error instanceof Error ? error.message : error
          }: ${child.stderr}`,
        );
      }
    }
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

function configText(options: WorkerdOptions, port: number): string {
  const trusted = (options.trustedCertificates ?? []).map(capnpString);
  const bindings = Object.entries(options.bindings ?? {}).map(
    ([name, text]) =>
      `(name = ${capnpString(name)}, text = ${capnpString(text)})`,
  );
  const flags = (options.compatibilityFlags ?? []).map(capnpString);
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (
      allow = ["local"],
      tlsOptions = (trustedCertificates = [${trusted.join(", ")}]),
    )),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = ${capnpString(options.compatibilityDate ?? "2025-09-01")},
  compatibilityFlags = [${flags.join(", ")}],
  bindings = [${bindings.join(", ")}],
);
`;
}

class Running implements Workerd {
  readonly url: string;
  readonly config: string;
  readonly #child: ChildLines;
  readonly #dir: string;

  constructor(child: ChildLines, dir: string, port: number, config: string) {
    this.#child = child;
    this.#dir = dir;
    this.url = `http://127.0.0.1:${port}`;
    this.config = config;
  }

  get log(): string {
    return this.#child.stderr;
  }

  async call<T>(path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : {
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      }),
    });
    const text = await response.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(
        `workerd answered ${response.status} to ${path}: ${text}\n${this.log}`,
      );
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#child[Symbol.asyncDispose]();
    await Deno.remove(this.#dir, { recursive: true });
  }
}
