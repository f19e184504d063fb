/**
 * The conformance fixtures of `tests/transport/_fixtures.ts`, served over
 * HTTP to a Worker: the servers run here, in the test process, and the
 * Worker's `remoteFixtures` (tests/runtime/worker/_remote_fixtures.ts)
 * starts, inspects and closes them with one request each. Every response
 * closes its connection, so no keep-alive socket outlives a test step.
 *
 * @module
 */

import {
  type FixtureBehaviour,
  type FixtureServer,
  nodeFixtures,
} from "../transport/_fixtures.ts";

/** A running control server; dispose it with `await using`. */
export interface FixtureControl extends AsyncDisposable {
  /** Its URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", connection: "close" },
  });
}

/**
 * Starts the control server on a free loopback port.
 *
 * @returns The running server; disposing it closes every fixture left.
 */
export function startFixtureControl(): FixtureControl {
  const servers = new Map<string, FixtureServer>();
  let next = 0;
  const handle = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const body = request.method === "POST"
      ? await request.json() as Record<string, unknown>
      : {};
    if (path === "/start") {
      const server = await nodeFixtures.start(
        body.behaviour as FixtureBehaviour,
      );
      const id = String(++next);
      servers.set(id, server);
      return json({
        id,
        hostname: server.hostname,
        port: server.port,
        caCert: server.caCert,
      });
    }
    if (path === "/closed-port") {
      return json({ port: await nodeFixtures.closedPort() });
    }
    const match = /^\/servers\/(\d+)\/(\w+)$/.exec(path);
    const server = match ? servers.get(match[1]!) : undefined;
    if (!match || !server) return json({ error: `No route ${path}` }, 404);
    switch (match[2]) {
      case "connections":
        return json({ connections: server.connections });
      case "quiesce":
        await server.quiesce(body.timeoutMs as number | undefined);
        return json({ connections: server.connections });
      case "inject":
        await server.inject();
        return json({});
      case "close":
        servers.delete(match[1]!);
        await server.close();
        return json({});
    }
    return json({ error: `No route ${path}` }, 404);
  };
  const http = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    handler: (request) =>
      handle(request).catch((error) =>
        json(
          { error: error instanceof Error ? error.message : String(error) },
          500,
        )
      ),
  });
  return {
    url: `http://127.0.0.1:${http.addr.port}`,
    async [Symbol.asyncDispose]() {
      await http.shutdown();
      for (const server of servers.values()) await server.close();
      servers.clear();
    },
  };
}
