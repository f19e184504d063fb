/**
 * The conformance fixtures as seen from inside the Worker: the servers run
 * in the Deno test process (`nodeFixtures` behind the control server of
 * `tests/runtime/_fixture_control.ts`), and each method is one HTTP request
 * to it. `connections` is read synchronously by the cases, so it returns
 * the last snapshot and asks for a fresh one in the background; `quiesce()`
 * refreshes it before it resolves.
 *
 * @module
 */

import type {
  ConformanceFixtures,
  FixtureBehaviour,
  FixtureConnection,
  FixtureServer,
} from "../../transport/_fixtures.ts";

async function call<T>(url: string, body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method: body === undefined ? "GET" : "POST",
    ...(body === undefined ? {} : {
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    }),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`Fixture control ${url}: ${response.status} ${text}`);
  }
  return JSON.parse(text) as T;
}

class RemoteServer implements FixtureServer {
  readonly hostname: string;
  readonly port: number;
  readonly caCert: string;
  readonly #base: string;
  #connections: FixtureConnection[] = [];
  #refreshing: Promise<void> | undefined;

  constructor(
    base: string,
    info: { hostname: string; port: number; caCert: string },
  ) {
    this.#base = base;
    this.hostname = info.hostname;
    this.port = info.port;
    this.caCert = info.caCert;
  }

  get connections(): readonly FixtureConnection[] {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#connections;
  }

  async #refresh(): Promise<void> {
    const { connections } = await call<{ connections: FixtureConnection[] }>(
      `${this.#base}/connections`,
    ).catch(() => ({ connections: this.#connections }));
    this.#connections = connections;
  }

  async inject(): Promise<void> {
    await call(`${this.#base}/inject`, {});
  }

  async quiesce(timeoutMs?: number): Promise<void> {
    await this.#refreshing;
    const { connections } = await call<{ connections: FixtureConnection[] }>(
      `${this.#base}/quiesce`,
      { timeoutMs },
    );
    this.#connections = connections;
  }

  async close(): Promise<void> {
    await this.#refreshing;
    await call(`${this.#base}/close`, {});
  }
}

/**
 * Fixtures served by the control server at `control`.
 *
 * @param control The control server's URL.
 * @returns The fixtures for `conformanceCases`.
 */
export function remoteFixtures(control: string): ConformanceFixtures {
  return {
    async start(behaviour: FixtureBehaviour): Promise<FixtureServer> {
      const info = await call<
        { id: string; hostname: string; port: number; caCert: string }
      >(`${control}/start`, { behaviour });
      return new RemoteServer(`${control}/servers/${info.id}`, info);
    },
    async closedPort(): Promise<number> {
      const { port } = await call<{ port: number }>(`${control}/closed-port`);
      return port;
    },
    hasSystemCa(): boolean {
      return false;
    },
  };
}
