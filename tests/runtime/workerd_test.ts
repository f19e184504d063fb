/**
 * The library in workerd, Cloudflare's Workers runtime: a Worker
 * (tests/runtime/worker/worker.ts) bundled with `deno bundle --external
 * cloudflare:sockets`, started by each test with a generated Cap'n Proto
 * config (no `nodejs_compat`; the outbound network reaches loopback and
 * trusts the test CA) and driven over HTTP. It runs the transport
 * conformance suite for `cloudflareConnect` (the fixtures' servers run
 * here, behind a control server) and end-to-end sends to the capture
 * server and to aiosmtpd, both running here.
 *
 * workerd resumes TLS sessions by host name, and the servers of one test
 * process accept each other's session tickets: a refused certificate is
 * only refused by a workerd that has never completed a handshake with
 * `localhost`, so the negative certificate cases run in a workerd of their
 * own.
 *
 * @module
 */

import assert from "node:assert/strict";
import { composeMessage } from "../../mime.ts";
import { startTestServer, type TestServerOptions } from "../../testing.ts";
import { type Aiosmtpd, startAiosmtpd } from "../_harness/aiosmtpd.ts";
import type { TestCerts } from "../_harness/certs.ts";
import { interop, interopRequired, missing } from "../_harness/interop.ts";
import { startWorkerd, type Workerd } from "../_harness/workerd.ts";
import { nodeFixtures } from "../transport/_fixtures.ts";
import { type Leaf, testCerts } from "../transport/_certs.ts";
import { startFixtureControl } from "./_fixture_control.ts";
import { maskBoundaries, richMail } from "./_mails.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The negative certificate cases: they need a workerd of their own. */
const NEGATIVE_CASES = [
  "cloudflareConnect refuses a certificate for another name (tls-verify)",
  "cloudflareConnect refuses a certificate of an unknown CA (tls-verify)",
  "cloudflareConnect rejects STARTTLS for a name the certificate does not carry (tls-verify)",
];

let bundle: Promise<string> | undefined;

/** The Worker, bundled the way a Worker project would bundle it. */
function workerBundle(): Promise<string> {
  bundle ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "sendmail_worker_" });
    try {
      const { code, stderr } = await new Deno.Command(Deno.execPath(), {
        args: [
          "bundle",
          "--platform=browser",
          "--external",
          "cloudflare:sockets",
          // node:assert/strict (the conformance suite's) is node_compat
          // only in workerd: the bundle gets a small equivalent instead.
          "--import-map",
          "tests/runtime/worker/import_map.json",
          "-o",
          `${dir}/worker.js`,
          "tests/runtime/worker/worker.ts",
        ],
        cwd: ROOT,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      if (code !== 0) {
        throw new Error(
          `Cannot bundle the Worker: ${new TextDecoder().decode(stderr)}`,
        );
      }
      return await Deno.readTextFile(`${dir}/worker.js`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return bundle;
}

/** workerd with the Worker, trusting the test CA. */
async function workerd(): Promise<Workerd> {
  const { caCert } = await testCerts();
  return await startWorkerd({
    module: await workerBundle(),
    trustedCertificates: [caCert],
    bindings: { TRUSTED_CA: caCert },
  });
}

/** What the Worker reports for a call that may fail. */
interface Outcome {
  ok: boolean;
  error?: {
    name: string;
    constructor: string;
    message: string;
    kind?: string;
    temporary?: boolean;
    command?: string;
    reason?: string;
    stack?: string;
  };
  [key: string]: unknown;
}

function succeeded(outcome: Outcome, what: string): void {
  assert.ok(
    outcome.ok,
    `${what} failed in the Worker: ${
      outcome.error?.stack ?? outcome.error?.message
    }`,
  );
}

function failedWith(outcome: Outcome, kinds: string[]): void {
  assert.equal(outcome.ok, false, "expected the send to fail");
  assert.equal(outcome.error?.name, "SmtpError", outcome.error?.message);
  assert.ok(
    kinds.includes(outcome.error?.kind ?? ""),
    `expected kind ${
      kinds.join(" or ")
    }: ${outcome.error?.kind}: ${outcome.error?.message}`,
  );
}

const aiosmtpdMissing = missing("aiosmtpd");
/** Why an aiosmtpd step is skipped here, if it is. */
const aiosmtpdIgnored = aiosmtpdMissing !== undefined && !interopRequired();

/** aiosmtpd serving `leaf` (from the conformance certificates). */
async function aiosmtpdWith(
  leaf: Leaf,
  options: {
    implicitTls?: boolean;
    auth?: { username: string; password: string }[];
  } = {},
): Promise<Aiosmtpd> {
  const { caCert } = await testCerts();
  const dir = await Deno.makeTempDir({ prefix: "sendmail_worker_certs_" });
  const certs: TestCerts = {
    caCert,
    cert: leaf.cert,
    key: leaf.key,
    dir,
    caFile: `${dir}/ca.pem`,
    certFile: `${dir}/cert.pem`,
    keyFile: `${dir}/key.pem`,
  };
  await Deno.writeTextFile(certs.caFile, caCert);
  await Deno.writeTextFile(certs.certFile, leaf.cert);
  await Deno.writeTextFile(certs.keyFile, leaf.key);
  try {
    const server = await startAiosmtpd({ ...options, certs });
    return {
      hostname: server.hostname,
      port: server.port,
      certs,
      messages: () => server.messages(),
      nextMessage: (timeoutMs?: number) => server.nextMessage(timeoutMs),
      authAttempts: () => server.authAttempts(),
      get stderr() {
        return server.stderr;
      },
      async [Symbol.asyncDispose]() {
        await server[Symbol.asyncDispose]();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

/** The capture server with one of the conformance certificates. */
async function captureServer(
  leaf: Leaf,
  options: TestServerOptions = {},
): ReturnType<typeof startTestServer> {
  const { caCert } = await testCerts();
  return await startTestServer({
    ...options,
    cert: leaf.cert,
    key: leaf.key,
    caCert,
  });
}

/** Session options for the Worker: by name, no caCerts (workerd trusts the CA). */
function optionsFor(
  server: { port: number },
  tls: "starttls" | "implicit",
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { hostname: "localhost", port: server.port, tls, ...extra };
}

const auth = { username: "app", password: "s3cret" };

Deno.test(interop({
  name:
    "The Worker bundle has no static node: import and runs in workerd without nodejs_compat",
  requires: ["workerd"],
  async fn() {
    const text = await workerBundle();
    // A static import of node:* makes workerd refuse the Worker ("No such
    // module"); a dynamic one (nodeConnect's) is evaluated on Node only.
    assert.doesNotMatch(text, /^\s*import\b[^(]*["']node:/m);
    assert.doesNotMatch(text, /^\s*export\b[^(]*from\s*["']node:/m);
    assert.doesNotMatch(text, /\brequire\(\s*["']node:/);
    assert.deepEqual(
      [
        ...new Set(
          [...text.matchAll(/["'](node:[\w/]+)["']/g)].map((m) => m[1]),
        ),
      ]
        .sort(),
      ["node:net", "node:tls"],
    );
    assert.match(text, /import\(\s*["']node:net["']\s*\)/);
    await using worker = await workerd();
    assert.doesNotMatch(worker.config, /nodejs_compat/);
    const platform = await worker.call<
      {
        platform: { name: string };
        blocks: Record<string, string | null>;
        hasProcess: boolean;
        snapshot: { userAgent?: string };
      }
    >("/platform");
    // Without nodejs_compat there is no `process` at all.
    assert.equal(platform.hasProcess, false);
    assert.equal(platform.snapshot.userAgent, "Cloudflare-Workers");
    assert.equal(platform.platform.name, "Cloudflare Workers");
    assert.match(
      platform.blocks["25"] ?? "",
      /^Cannot connect to smtp\.example\.com:25: outgoing connections to port 25 are blocked on Cloudflare Workers; use port 465 \(implicit TLS\) or port 587/,
    );
    assert.equal(platform.blocks["465"], null);
    assert.equal(platform.blocks["587"], null);
    assert.equal(platform.blocks["2525"], null);
  },
}));

Deno.test(interop({
  name: "cloudflareConnect passes the transport conformance suite in workerd",
  requires: ["workerd"],
  async fn(t) {
    await using control = startFixtureControl();
    const run = async (worker: Workerd, names: (name: string) => boolean) => {
      const cases = await worker.call<{ name: string; ignore?: string }[]>(
        "/cases",
      );
      assert.ok(cases.length >= 20, `only ${cases.length} cases`);
      for (const c of cases.filter((c) => names(c.name))) {
        await t.step({
          name: c.ignore === undefined
            ? c.name
            : `${c.name} (skipped: ${c.ignore})`,
          ignore: c.ignore !== undefined,
          async fn() {
            const outcome = await worker.call<Outcome>("/case", {
              name: c.name,
              control: control.url,
            });
            succeeded(outcome, c.name);
          },
        });
      }
    };
    {
      // A fresh workerd, before any handshake with localhost succeeded.
      await using negative = await workerd();
      await run(negative, (name) => NEGATIVE_CASES.includes(name));
    }
    await using worker = await workerd();
    await run(worker, (name) => !NEGATIVE_CASES.includes(name));
  },
}));

Deno.test(interop({
  name:
    "cloudflareConnect in workerd: what the runtime cannot tell, and a socket released with its request",
  requires: ["workerd"],
  async fn(t) {
    await using worker = await workerd();
    const probe = (options: Record<string, unknown>, abortAfter?: number) =>
      worker.call<Outcome>("/probe", {
        options,
        ...(abortAfter === undefined ? {} : { abortAfter }),
      });

    await t.step(
      "a name that does not resolve is reported as refused",
      async () => {
        const outcome = await probe({
          hostname: "no-such-host.sendmail.invalid",
          port: 587,
          tls: "starttls",
        });
        assert.equal(outcome.ok, false);
        assert.equal(outcome.error?.reason, "refused", outcome.error?.message);
        assert.match(outcome.error!.message, /the runtime does not say which/);
      },
    );

    await t.step(
      "a server that does not speak TLS is reported as tls-verify",
      async () => {
        const server = await nodeFixtures.start({ kind: "smtp" });
        try {
          const outcome = await probe({
            hostname: "localhost",
            port: server.port,
            tls: "implicit",
          });
          assert.equal(outcome.ok, false);
          assert.equal(
            outcome.error?.reason,
            "tls-verify",
            outcome.error?.message,
          );
          assert.match(outcome.error!.message, /does not speak TLS/);
        } finally {
          await server.close();
        }
      },
    );

    await t.step(
      "a socket aborted during its handshake is released when the request ends",
      async () => {
        const server = await nodeFixtures.start({ kind: "silent" });
        try {
          const outcome = await probe(
            { hostname: "localhost", port: server.port, tls: "implicit" },
            200,
          );
          succeeded(outcome, "the aborted connect");
          assert.equal(outcome.aborted, true);
          await server.quiesce();
          assert.equal(server.connections.length, 1);
        } finally {
          await server.close();
        }
      },
    );

    await t.step("caCerts reaches the caller as a TypeError", async () => {
      const outcome = await worker.call<Outcome>("/sendmail", {
        options: {
          hostname: "localhost",
          port: 465,
          caCerts: [(await testCerts()).caCert],
        },
        mail: { kind: "simple", i: 0 },
      });
      assert.equal(outcome.ok, false);
      assert.equal(
        outcome.error?.constructor,
        "TypeError",
        outcome.error?.message,
      );
      assert.match(outcome.error!.message, /cannot trust a custom CA/);
    });

    await t.step(
      "a send to port 25 fails at once, naming Cloudflare Workers and the ports to use",
      async () => {
        const outcome = await worker.call<Outcome>("/sendmail", {
          options: { hostname: "localhost", port: 25, tls: "starttls" },
          mail: { kind: "simple", i: 0 },
        });
        failedWith(outcome, ["connection"]);
        assert.equal(outcome.error?.temporary, false);
        assert.equal(outcome.error?.command, "CONNECT");
        assert.match(
          outcome.error!.message,
          /^Cannot connect to localhost:25: outgoing connections to port 25 are blocked on Cloudflare Workers; use port 465 \(implicit TLS\) or port 587 \(STARTTLS\), or an alternate port your provider offers: 2465 \(implicit TLS\), 2525 \(STARTTLS\) or 2587 \(STARTTLS\)/,
        );
        // allowBlockedPorts: true skips the check (whatever then happens on 25).
        const tried = await worker.call<Outcome>("/sendmail", {
          options: {
            hostname: "127.0.0.1",
            port: 25,
            tls: "starttls",
            allowBlockedPorts: true,
          },
          mail: { kind: "simple", i: 0 },
        });
        assert.ok(tried.ok || !/blocked on/.test(tried.error!.message));
      },
    );
    await t.step(
      "a refused port fails the send with kind connection",
      async () => {
        const port = await nodeFixtures.closedPort();
        const outcome = await worker.call<Outcome>("/sendmail", {
          options: { hostname: "127.0.0.1", port, tls: "starttls" },
          mail: { kind: "simple", i: 0 },
        });
        failedWith(outcome, ["connection"]);
        assert.equal(outcome.error?.command, "CONNECT");
      },
    );
  },
}));

Deno.test(interop({
  name:
    "sendmail from a Worker in workerd delivers to the capture server and to aiosmtpd",
  requires: ["workerd"],
  async fn(t) {
    const certs = await testCerts();
    await using worker = await workerd();

    await t.step(
      "STARTTLS with AUTH to the capture server (the default transport)",
      async () => {
        await using server = await captureServer(certs.good, {
          auth: { users: { [auth.username]: auth.password } },
        });
        const outcome = await worker.call<Outcome>("/sendmail", {
          options: optionsFor(server, "starttls", { auth }),
          mail: { kind: "simple", i: 1 },
        });
        succeeded(outcome, "the send");
        assert.equal((outcome.result as { secure: boolean }).secure, true);
        const message = await server.nextMessage();
        assert.equal(message.authUser, "app");
        assert.equal(message.secure, true);
        assert.deepEqual(message.envelope.to, ["user@example.com"]);
      },
    );

    await t.step({
      name: "STARTTLS with AUTH to aiosmtpd",
      ignore: aiosmtpdIgnored,
      async fn() {
        await using server = await aiosmtpdWith(certs.good, { auth: [auth] });
        const outcome = await worker.call<Outcome>("/sendmail", {
          options: optionsFor(server, "starttls", { auth }),
          mail: { kind: "simple", i: 2 },
        });
        succeeded(outcome, "the send");
        const message = await server.nextMessage();
        assert.equal(message.auth?.login, "app");
        assert.ok(message.tls, "the session was not encrypted");
        assert.deepEqual(message.rcptTo, ["user@example.com"]);
      },
    });

    await t.step(
      "implicit TLS to the capture server (cloudflareConnect passed as connect)",
      async () => {
        await using server = await captureServer(certs.good, {
          tls: "implicit",
        });
        const outcome = await worker.call<Outcome>("/sendmail", {
          options: optionsFor(server, "implicit"),
          transport: "cloudflare",
          mail: { kind: "simple", i: 3 },
        });
        succeeded(outcome, "the send");
        assert.equal((outcome.result as { secure: boolean }).secure, true);
        assert.equal((await server.nextMessage()).secure, true);
      },
    );

    await t.step({
      name: "implicit TLS to aiosmtpd",
      ignore: aiosmtpdIgnored,
      async fn() {
        await using server = await aiosmtpdWith(certs.good, {
          implicitTls: true,
        });
        const outcome = await worker.call<Outcome>("/sendmail", {
          options: optionsFor(server, "implicit"),
          mail: { kind: "simple", i: 4 },
        });
        succeeded(outcome, "the send");
        assert.ok((await server.nextMessage()).tls, "no message over TLS");
      },
    });

    await t.step(
      "bytes the server sends after its 220 to STARTTLS are refused",
      async () => {
        await using server = await captureServer(certs.good, {
          hooks: {
            STARTTLS: () => ({
              reply: "220 2.0.0 Ready",
              extra: "250-injected\r\n250 AUTH PLAIN\r\n",
            }),
          },
        });
        const outcome = await worker.call<Outcome>("/sendmail", {
          options: optionsFor(server, "starttls"),
          mail: { kind: "simple", i: 7 },
        });
        failedWith(outcome, ["protocol", "tls"]);
        assert.equal(server.messages.length, 0);
        const verbs = server.transcripts[0]!
          .filter((line) => line.type === "client")
          .map((line) => line.text.split(" ")[0]);
        assert.ok(!verbs.includes("MAIL"), `the client went on: ${verbs}`);
      },
    );

    const expected = maskBoundaries(
      new Uint8Array(
        await new Response(composeMessage(richMail()).readable).arrayBuffer(),
      ),
    );

    await t.step(
      "a Mail with attachments and non-ASCII headers arrives byte for byte at the capture server",
      async () => {
        await using server = await captureServer(certs.good);
        const outcome = await worker.call<Outcome>("/sendmail", {
          options: optionsFor(server, "starttls"),
          mail: { kind: "rich" },
        });
        succeeded(outcome, "the send");
        assert.equal(
          maskBoundaries((await server.nextMessage()).raw),
          expected,
        );
      },
    );

    await t.step({
      name:
        "a Mail with attachments and non-ASCII headers arrives byte for byte at aiosmtpd",
      ignore: aiosmtpdIgnored,
      async fn() {
        await using server = await aiosmtpdWith(certs.good);
        const outcome = await worker.call<Outcome>("/sendmail", {
          options: optionsFor(server, "starttls"),
          mail: { kind: "rich" },
        });
        succeeded(outcome, "the send");
        assert.equal(
          maskBoundaries((await server.nextMessage()).data),
          expected,
        );
      },
    });

    await t.step(
      "20 pipelined sends on one client reach the capture server on one connection",
      async () => {
        await using server = await captureServer(certs.good);
        const outcome = await worker.call<Outcome>("/pipeline", {
          options: optionsFor(server, "starttls"),
          count: 20,
        });
        succeeded(outcome, "the sends");
        assert.equal((outcome.accepted as unknown[]).length, 20);
        assert.equal(server.transcripts.length, 1);
        assert.deepEqual(
          server.messages.map((m) =>
            /^Subject: (.*)$/m.exec(m.text)?.[1]?.trim()
          ),
          Array.from({ length: 20 }, (_, i) => `Message ${i}`),
        );
      },
    );

    await t.step({
      name: "20 pipelined sends on one client reach aiosmtpd",
      ignore: aiosmtpdIgnored,
      async fn() {
        await using server = await aiosmtpdWith(certs.good);
        const outcome = await worker.call<Outcome>("/pipeline", {
          options: optionsFor(server, "starttls"),
          count: 20,
        });
        succeeded(outcome, "the sends");
        assert.equal((await server.messages()).length, 20);
      },
    });

    await t.step(
      "a send in ctx.waitUntil completes after the response",
      async () => {
        // The server holds its greeting until the response has arrived: a
        // Worker that awaited the send would never answer.
        let answered!: () => void;
        const responded = new Promise<void>((resolve) => answered = resolve);
        await using server = await captureServer(certs.good, {
          hooks: {
            connect: async () => {
              await responded;
              return "default" as const;
            },
          },
        });
        const response = await fetch(`${worker.url}/waitUntil`, {
          method: "POST",
          body: JSON.stringify({
            options: optionsFor(server, "starttls"),
            mail: { kind: "simple", i: 9 },
          }),
        });
        assert.equal(response.status, 202);
        await response.body?.cancel();
        assert.equal(server.messages.length, 0, "sent before the response");
        answered();
        const message = await server.nextMessage(10_000);
        assert.match(message.text, /^Subject: Message 9\r$/m);
      },
    );
  },
}));

Deno.test(interop({
  name:
    "sendmail from a Worker in workerd refuses a certificate for another name or of an unknown CA (kind tls)",
  requires: ["workerd"],
  async fn(t) {
    const certs = await testCerts();
    // Its own workerd: no TLS session with localhost to resume.
    await using worker = await workerd();
    for (
      const [what, leaf] of [
        ["for another name", certs.wrongName],
        ["of an unknown CA", certs.unknownCa],
      ] as const
    ) {
      for (const tls of ["starttls", "implicit"] as const) {
        await t.step(
          `the capture server's certificate ${what} (${tls})`,
          async () => {
            await using server = await captureServer(leaf, { tls });
            const outcome = await worker.call<Outcome>("/sendmail", {
              options: optionsFor(server, tls),
              mail: { kind: "simple", i: 5 },
            });
            failedWith(outcome, ["tls"]);
            assert.equal(server.messages.length, 0);
          },
        );
        await t.step({
          name: `aiosmtpd's certificate ${what} (${tls})`,
          ignore: aiosmtpdIgnored,
          async fn() {
            await using server = await aiosmtpdWith(leaf, {
              implicitTls: tls === "implicit",
            });
            const outcome = await worker.call<Outcome>("/sendmail", {
              options: optionsFor(server, tls),
              mail: { kind: "simple", i: 6 },
            });
            failedWith(outcome, ["tls"]);
            assert.deepEqual(await server.messages(), []);
          },
        });
      }
    }
  },
}));
