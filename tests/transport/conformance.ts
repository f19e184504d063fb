/**
 * The transport conformance suite: what every adapter of the seam
 * (`src/transport/connection.ts`) must do, as a list of cases any test
 * runner can register (`Deno.test`, `node:test`, `bun:test`, a Worker
 * driven over HTTP). It imports no runtime API itself: the servers come
 * from the runner's {@linkcode ConformanceFixtures} (`nodeFixtures` from
 * `_fixtures.ts` runs on Deno, Node and Bun).
 *
 * @example Registering the cases under Deno.test
 * ```ts ignore
 * import { conformanceCases } from "./conformance.ts";
 * import { nodeFixtures } from "./_fixtures.ts";
 * for (const c of conformanceCases(denoConnect, nodeFixtures)) {
 *   Deno.test({ name: c.name, ignore: c.ignore !== undefined, fn: c.fn });
 * }
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import type {
  Connect,
  Connection,
  ConnectionFailureReason,
} from "../../src/transport/connection.ts";
import { failureReason } from "../../src/transport/connection_failure.ts";
import type {
  ConformanceFixtures,
  FixtureBehaviour,
  FixtureServer,
} from "./_fixtures.ts";

export type { ConformanceFixtures } from "./_fixtures.ts";

/** One case of the suite. */
export interface ConformanceCase {
  /** The test's name: "<adapter> does X when Y". */
  name: string;
  /** Runs the case; rejects when the adapter does not conform. */
  fn: () => Promise<void>;
  /** Why the case is skipped here, when it is. */
  ignore?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads until `text` has arrived; returns everything read. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  text: string,
): Promise<string> {
  let got = "";
  while (!got.includes(text)) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(
        `The stream ended before ${JSON.stringify(text)}: got ${
          JSON.stringify(got)
        }`,
      );
    }
    got += decoder.decode(value, { stream: true });
  }
  return got;
}

/** Writes `text` through a fresh writer, releasing it after. */
async function send(conn: Connection, text: string): Promise<void> {
  const writer = conn.writable.getWriter();
  try {
    await writer.write(encoder.encode(text));
  } finally {
    writer.releaseLock();
  }
}

/** Reads through a fresh reader until `text`, releasing it after. */
async function receive(conn: Connection, text: string): Promise<string> {
  const reader = conn.readable.getReader();
  try {
    return await readUntil(reader, text);
  } finally {
    reader.releaseLock();
  }
}

/** Settles within `ms`, or fails with `what`: a bound, not a measurement. */
async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what}: still pending after ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts that `promise` rejects with a classified failure of `reason`. */
async function rejectsWith(
  promise: Promise<unknown>,
  reason: ConnectionFailureReason,
): Promise<Error> {
  let caught: unknown;
  try {
    await within(promise, 10_000, `Expected a "${reason}" failure`);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof Error, `expected a rejection (${reason})`);
  assert.ok(
    !(caught instanceof TypeError),
    `a failure is not a TypeError: ${caught.message}`,
  );
  assert.equal(
    failureReason(caught),
    reason,
    `expected cause.reason "${reason}": ${caught.message} (cause: ${
      JSON.stringify((caught.cause as { reason?: unknown })?.reason)
    })`,
  );
  return caught;
}

/**
 * The cases, for `connect`, with servers from `fixtures`.
 *
 * @param adapter The adapter's name, for the case names ("denoConnect").
 * @param connect The adapter under test.
 * @param fixtures Starts the servers the cases talk to.
 * @param limitations What the runtime under the adapter cannot do: case
 * names (without the adapter's) mapped to why; those cases are skipped
 * with that reason.
 * @returns The cases, in a stable order.
 */
export function conformanceCases(
  adapter: string,
  connect: Connect,
  fixtures: ConformanceFixtures,
  limitations: Readonly<Record<string, string>> = {},
): ConformanceCase[] {
  /** Runs `body` with a server, which is closed after it. */
  async function withServer(
    behaviour: FixtureBehaviour,
    body: (server: FixtureServer) => Promise<void>,
  ): Promise<void> {
    const server = await fixtures.start(behaviour);
    try {
      await body(server);
    } finally {
      await server.close();
    }
  }

  /** Runs `body` with a connection, which is closed after it. */
  async function withConnection(
    conn: Connection,
    body: (conn: Connection) => Promise<void>,
  ): Promise<void> {
    try {
      await body(conn);
    } finally {
      conn.close();
    }
  }

  const cases: ConformanceCase[] = [];
  const add = (name: string, fn: () => Promise<void>, skip?: string) => {
    const ignore = skip ?? limitations[name];
    cases.push({
      name: `${adapter} ${name}`,
      fn,
      ...(ignore !== undefined ? { ignore } : {}),
    });
  };

  add(
    "connects in plaintext and carries bytes both ways",
    () =>
      withServer({ kind: "echo" }, async (server) => {
        const conn = await connect({
          hostname: server.hostname,
          port: server.port,
          tls: "none",
        });
        await withConnection(conn, async () => {
          assert.equal(conn.secure, false);
          await send(conn, "hello\r\n");
          assert.equal(await receive(conn, "hello\r\n"), "hello\r\n");
        });
        await server.quiesce();
        assert.equal(server.connections.length, 1);
        assert.equal(server.connections[0]!.secure, false);
      }),
  );

  add(
    "connects with implicit TLS verified against caCerts",
    () =>
      withServer({ kind: "echo", tls: "good" }, async (server) => {
        const conn = await connect({
          hostname: "localhost",
          port: server.port,
          tls: "implicit",
          caCerts: [server.caCert],
        });
        await withConnection(conn, async () => {
          assert.equal(conn.secure, true);
          await send(conn, "over tls\r\n");
          assert.equal(await receive(conn, "over tls\r\n"), "over tls\r\n");
        });
        await server.quiesce();
        assert.equal(server.connections[0]!.secure, true);
      }),
  );

  add(
    "sends SNI for a host name and none for an IP address",
    () =>
      withServer({ kind: "echo", tls: "good" }, async (server) => {
        for (const hostname of ["localhost", "127.0.0.1"]) {
          const conn = await connect({
            hostname,
            port: server.port,
            tls: "implicit",
            caCerts: [server.caCert],
          });
          await withConnection(conn, async () => {
            await send(conn, "x\r\n");
            await receive(conn, "x\r\n");
          });
        }
        await server.quiesce();
        assert.deepEqual(
          server.connections.map((c) => c.servername),
          ["localhost", undefined],
        );
      }),
  );

  add(
    "refuses a certificate for another name (tls-verify)",
    () =>
      withServer({ kind: "echo", tls: "wrongName" }, async (server) => {
        await rejectsWith(
          connect({
            hostname: "localhost",
            port: server.port,
            tls: "implicit",
            caCerts: [server.caCert],
          }),
          "tls-verify",
        );
        await server.quiesce();
        assert.equal(server.connections[0]!.secure, false);
      }),
  );

  add(
    "refuses a certificate of an unknown CA (tls-verify)",
    () =>
      withServer({ kind: "echo", tls: "unknownCa" }, async (server) => {
        await rejectsWith(
          connect({
            hostname: "localhost",
            port: server.port,
            tls: "implicit",
            caCerts: [server.caCert],
          }),
          "tls-verify",
        );
        await server.quiesce();
        assert.equal(server.connections[0]!.secure, false);
      }),
  );

  const systemCase = async () => {
    await withServer({ kind: "echo", tls: "system" }, async (server) => {
      // The system root alone verifies it...
      const bare = await connect({
        hostname: "localhost",
        port: server.port,
        tls: "implicit",
      });
      bare.close();
      // ...and still does when caCerts adds another CA.
      const conn = await connect({
        hostname: "localhost",
        port: server.port,
        tls: "implicit",
        caCerts: [server.caCert],
      });
      await withConnection(conn, async () => {
        await send(conn, "roots\r\n");
        assert.equal(await receive(conn, "roots\r\n"), "roots\r\n");
      });
      await server.quiesce();
    });
  };
  add(
    "adds caCerts to the system roots instead of replacing them",
    systemCase,
    fixtures.hasSystemCa()
      ? undefined
      : "the runner installed no system CA here (tests/runtime/ runs this case with one)",
  );

  add(
    "upgrades with STARTTLS after the plaintext greeting",
    () =>
      withServer({ kind: "smtp" }, async (server) => {
        const conn = await connect({
          hostname: "localhost",
          port: server.port,
          tls: "starttls",
        });
        let upgraded: Connection | undefined;
        try {
          assert.equal(conn.secure, false);
          assert.match(await receive(conn, "\r\n"), /^220 /);
          await send(conn, "NOOP\r\n");
          assert.equal(await receive(conn, "\r\n"), "250 plain\r\n");
          await send(conn, "STARTTLS\r\n");
          assert.equal(await receive(conn, "\r\n"), "220 ready\r\n");
          upgraded = await conn.startTls({
            hostname: "localhost",
            caCerts: [server.caCert],
          });
          assert.equal(upgraded.secure, true);
          await send(upgraded, "NOOP\r\n");
          assert.equal(await receive(upgraded, "\r\n"), "250 secure\r\n");
        } finally {
          upgraded?.close();
          conn.close();
        }
        await server.quiesce();
        assert.equal(server.connections[0]!.secure, true);
        assert.equal(server.connections[0]!.servername, "localhost");
      }),
  );

  add(
    "rejects STARTTLS for a name the certificate does not carry (tls-verify)",
    () =>
      withServer({ kind: "smtp" }, async (server) => {
        const conn = await connect({
          hostname: "127.0.0.1",
          port: server.port,
          tls: "starttls",
        });
        await withConnection(conn, async () => {
          await receive(conn, "\r\n");
          await send(conn, "STARTTLS\r\n");
          await receive(conn, "220 ready\r\n");
          await rejectsWith(
            conn.startTls({
              hostname: "other.example",
              caCerts: [server.caCert],
            }),
            "tls-verify",
          );
        });
        await server.quiesce();
      }),
  );

  add(
    "keeps bytes sent with the 220 to STARTTLS in readable",
    () =>
      withServer({ kind: "smtp", inject: "with-220" }, async (server) => {
        const conn = await connect({
          hostname: "localhost",
          port: server.port,
          tls: "starttls",
        });
        await withConnection(conn, async () => {
          await receive(conn, "\r\n");
          await send(conn, "STARTTLS\r\n");
          // Whatever the chunking, both lines come out of readable.
          const got = await receive(conn, "250 injected\r\n");
          assert.equal(got, "220 ready\r\n250 injected\r\n");
        });
        await server.quiesce();
      }),
  );

  add(
    "rejects STARTTLS when the server sent bytes after its 220",
    () =>
      withServer({ kind: "smtp", inject: "on-demand" }, async (server) => {
        const conn = await connect({
          hostname: "localhost",
          port: server.port,
          tls: "starttls",
        });
        await withConnection(conn, async () => {
          await receive(conn, "\r\n");
          await send(conn, "STARTTLS\r\n");
          const reader = conn.readable.getReader();
          const got = await readUntil(reader, "\r\n");
          reader.releaseLock();
          if (got !== "220 ready\r\n") {
            // The injected bytes came with the 220: the session sees them.
            assert.equal(got, "220 ready\r\n250 injected\r\n");
            return;
          }
          // The bytes reach this side after the 220 was read, then the
          // server starts its handshake: an adapter that dropped or hid
          // them would now complete it.
          await server.inject();
          let caught: unknown;
          try {
            const upgraded = await within(
              conn.startTls({
                hostname: "localhost",
                caCerts: [server.caCert],
              }),
              10_000,
              "startTls",
            );
            upgraded.close();
          } catch (error) {
            caught = error;
          }
          assert.ok(
            caught instanceof Error,
            "startTls completed although the server sent bytes after its 220",
          );
          assert.ok(failureReason(caught) !== undefined, caught.message);
        });
        await server.quiesce();
      }),
  );

  add(
    "closes idempotently, ending a pending read and the server's side",
    () =>
      withServer({ kind: "silent" }, async (server) => {
        const conn = await connect({
          hostname: server.hostname,
          port: server.port,
          tls: "none",
        });
        const reader = conn.readable.getReader();
        const pending = reader.read().then(
          (result) => ({ done: result.done }),
          () => ({ done: true }),
        );
        conn.close();
        conn.close();
        assert.deepEqual(
          await within(pending, 5000, "A read pending across close()"),
          { done: true },
        );
        await server.quiesce();
        assert.equal(server.connections.length, 1);
      }),
  );

  add(
    "rejects with the signal's reason when aborted before connecting",
    () =>
      withServer({ kind: "echo" }, async (server) => {
        const reason = new Error("given up");
        await assert.rejects(
          connect({
            hostname: server.hostname,
            port: server.port,
            tls: "none",
            signal: AbortSignal.abort(reason),
          }),
          (error) => error === reason,
        );
        await server.quiesce();
        assert.equal(server.connections.length, 0);
      }),
  );

  add(
    "closes a socket that opens after the abort",
    () =>
      withServer({ kind: "echo" }, async (server) => {
        const reason = new Error("given up");
        const controller = new AbortController();
        const opening = connect({
          hostname: server.hostname,
          port: server.port,
          tls: "none",
          signal: controller.signal,
        });
        controller.abort(reason);
        await assert.rejects(opening, (error) => error === reason);
        // Whether or not the system had opened it, no socket stays open.
        await server.quiesce();
      }),
  );

  add(
    "rejects with the signal's reason when aborted during the TLS handshake",
    () =>
      withServer({ kind: "silent" }, async (server) => {
        const reason = new Error("given up");
        const controller = new AbortController();
        const opening = connect({
          hostname: "localhost",
          port: server.port,
          tls: "implicit",
          caCerts: [server.caCert],
          signal: controller.signal,
        });
        while (server.connections.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        controller.abort(reason);
        await assert.rejects(
          within(opening, 5000, "An aborted connect"),
          (error) => error === reason,
        );
      }),
  );

  add(
    "releases the socket at once when aborted during the TLS handshake",
    () =>
      withServer({ kind: "silent" }, async (server) => {
        const controller = new AbortController();
        const opening = connect({
          hostname: "localhost",
          port: server.port,
          tls: "implicit",
          caCerts: [server.caCert],
          signal: controller.signal,
        });
        while (server.connections.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        controller.abort(new Error("given up"));
        await opening.catch(() => {});
        // The server never answers: only the client can close the socket.
        await server.quiesce();
        assert.equal(server.connections.length, 1);
      }),
  );

  add(
    "ends readable at the server's EOF",
    () =>
      withServer({ kind: "close" }, async (server) => {
        const conn = await connect({
          hostname: server.hostname,
          port: server.port,
          tls: "none",
        });
        await withConnection(conn, async () => {
          const reader = conn.readable.getReader();
          let got = "";
          for (;;) {
            const { value, done } = await within(reader.read(), 5000, "A read");
            if (done) break;
            got += decoder.decode(value);
          }
          assert.equal(got, "220 closing\r\n");
        });
        await server.quiesce();
      }),
  );

  add(
    "resolves a write once the socket has taken the bytes",
    () =>
      withServer({ kind: "silent" }, async (server) => {
        const conn = await connect({
          hostname: server.hostname,
          port: server.port,
          tls: "none",
        });
        await withConnection(conn, async () => {
          // The server never answers: the write must not wait for the peer.
          await within(send(conn, "x".repeat(1024)), 5000, "A 1 KiB write");
        });
        await server.quiesce();
      }),
  );

  add("rejects with dns for a name that does not resolve", async () => {
    await rejectsWith(
      connect({
        hostname: "no-such-host.sendmail.invalid",
        port: 25,
        tls: "none",
      }),
      "dns",
    );
  });

  add("rejects with refused on a port nothing listens on", async () => {
    const port = await fixtures.closedPort();
    await rejectsWith(
      connect({ hostname: "127.0.0.1", port, tls: "none" }),
      "refused",
    );
  });

  add(
    "rejects a read with reset when the server resets the connection",
    () =>
      withServer({ kind: "reset" }, async (server) => {
        const conn = await connect({
          hostname: server.hostname,
          port: server.port,
          tls: "none",
        });
        await withConnection(conn, async () => {
          await send(conn, "hello\r\n");
          const reader = conn.readable.getReader();
          await rejectsWith(reader.read(), "reset");
        });
        await server.quiesce();
      }),
  );

  add(
    "rejects with timeout when the runtime gives up connecting",
    () => Promise.resolve(),
    "a connect timeout cannot be provoked on loopback (every port answers at once); the classification is unit-tested",
  );

  add(
    "rejects with tls-handshake when the server does not speak TLS",
    () =>
      withServer({ kind: "smtp" }, async (server) => {
        await rejectsWith(
          connect({
            hostname: "localhost",
            port: server.port,
            tls: "implicit",
            caCerts: [server.caCert],
          }),
          "tls-handshake",
        );
        await server.quiesce();
      }),
  );

  for (const name of Object.keys(limitations)) {
    if (!cases.some((c) => c.name === `${adapter} ${name}`)) {
      throw new TypeError(`Cannot skip ${JSON.stringify(name)}: no such case`);
    }
  }
  return cases;
}
