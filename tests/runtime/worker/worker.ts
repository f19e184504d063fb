/**
 * The Worker of the workerd suite (`tests/runtime/workerd_test.ts`),
 * bundled with `deno bundle --external cloudflare:sockets` and run by
 * workerd without `nodejs_compat`. The test process drives it over HTTP:
 * each request runs one conformance case of `cloudflareConnect` (its
 * servers live in the test process, behind the fixture control server) or
 * one send, and answers with what happened, as JSON.
 *
 * @module
 */

import { sendmail, SmtpClient, type SmtpClientOptions } from "../../../mod.ts";
import { cloudflareConnect } from "../../../cloudflare.ts";
import type {
  Connect,
  Connection,
  ConnectOptions,
  StartTlsOptions,
} from "../../../src/transport/connection.ts";
import { failureReason } from "../../../src/transport/connection_failure.ts";
import { readPlatformSnapshot } from "../../../src/transport/_platform_snapshot.ts";
import {
  blockedPortError,
  detectPlatform,
  portBlock,
} from "../../../src/session/_platform_ports.ts";
import { conformanceCases } from "../../transport/conformance.ts";
import { remoteFixtures } from "./_remote_fixtures.ts";
import { richMail, simpleMail } from "../_mails.ts";

/** The Worker's bindings (see the generated config). */
interface Env {
  /** The CA the config's `trustedCertificates` adds to workerd's roots. */
  TRUSTED_CA: string;
}

/** The execution context workerd passes to `fetch`. */
interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * What workerd cannot do, as the conformance suite's limitations: these
 * cases are skipped with the reason, and the workerd suite checks what
 * happens instead.
 */
const LIMITATIONS: Record<string, string> = {
  "adds caCerts to the system roots instead of replacing them":
    "Workers take no caCerts (cloudflareConnect refuses them with a TypeError): only the platform's roots count",
  "rejects with dns for a name that does not resolve":
    'workerd reports a name that does not resolve like a refused port ("proxy request failed, cannot connect to the specified address"): cloudflareConnect reports "refused"',
  "rejects with tls-handshake when the server does not speak TLS":
    'workerd reports every failed handshake as "internal error; reference = …": a server without TLS cannot be told from a refused certificate, both are "tls-verify"',
  "releases the socket at once when aborted during the TLS handshake":
    "workerd keeps a socket whose handshake is under way until the request ends (its close() waits for the handshake); the connect still rejects at once with the signal's reason",
};

/**
 * `connect` with the platform's trust: the test CA is one of workerd's
 * roots through the config (`tlsOptions.trustedCertificates`), which is
 * what a public CA is to a deployed Worker, so the cases' `caCerts` naming
 * that CA are dropped before `cloudflareConnect` sees them; any other CA
 * still reaches it (and is refused, as on Cloudflare).
 */
function withPlatformTrust(connect: Connect, trusted: string): Connect {
  const strip = (caCerts: string[] | undefined) => {
    const rest = (caCerts ?? []).filter((ca) => ca.trim() !== trusted.trim());
    return rest.length > 0 ? { caCerts: rest } : {};
  };
  const wrap = (conn: Connection): Connection => ({
    get readable() {
      return conn.readable;
    },
    get writable() {
      return conn.writable;
    },
    get secure() {
      return conn.secure;
    },
    async startTls(options: StartTlsOptions): Promise<Connection> {
      return wrap(
        await conn.startTls({
          hostname: options.hostname,
          ...strip(options.caCerts),
        }),
      );
    },
    close() {
      conn.close();
    },
  });
  return async (options: ConnectOptions): Promise<Connection> => {
    const { caCerts: _, ...rest } = options;
    return wrap(await connect({ ...rest, ...strip(options.caCerts) }));
  };
}

/** An error as JSON, with what the tests check. */
function describe(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) {
    return { name: typeof error, message: String(error) };
  }
  const fields = error as Error & {
    kind?: unknown;
    temporary?: unknown;
    command?: unknown;
  };
  return {
    name: error.name,
    constructor: error.constructor.name,
    message: error.message,
    kind: fields.kind,
    temporary: fields.temporary,
    command: fields.command,
    reason: failureReason(error) ?? failureReason(error.cause),
    stack: error.stack,
  };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** The session options a request asks for, with the transport it names. */
function sessionOptions(body: {
  options: SmtpClientOptions;
  transport?: "default" | "cloudflare";
}): SmtpClientOptions {
  return body.transport === "cloudflare"
    ? { ...body.options, connect: cloudflareConnect }
    : body.options;
}

type MailSpec = { kind: "simple"; i: number } | { kind: "rich" };

function mailOf(spec: MailSpec) {
  return spec.kind === "rich" ? richMail() : simpleMail(spec.i);
}

async function attempt(
  body: () => Promise<Record<string, unknown>>,
): Promise<Response> {
  try {
    return json({ ok: true, ...(await body()) });
  } catch (error) {
    return json({ ok: false, error: describe(error) });
  }
}

const routes: Record<
  string,
  (body: never, env: Env, ctx: ExecutionContext) => Promise<Response>
> = {
  /** The conformance cases, with why each skipped one is skipped. */
  cases(_body: unknown, env: Env): Promise<Response> {
    const cases = conformanceCases(
      "cloudflareConnect",
      withPlatformTrust(cloudflareConnect, env.TRUSTED_CA),
      remoteFixtures("http://unused.invalid"),
      LIMITATIONS,
    );
    return Promise.resolve(
      json(cases.map((c) => ({ name: c.name, ignore: c.ignore }))),
    );
  },

  /** Runs one conformance case against the control server's fixtures. */
  case(body: { name: string; control: string }, env: Env): Promise<Response> {
    return attempt(async () => {
      const cases = conformanceCases(
        "cloudflareConnect",
        withPlatformTrust(cloudflareConnect, env.TRUSTED_CA),
        remoteFixtures(body.control),
        LIMITATIONS,
      );
      const found = cases.find((c) => c.name === body.name);
      if (!found) throw new Error(`No such case: ${body.name}`);
      await found.fn();
      return {};
    });
  },

  /** One `sendmail()`. */
  sendmail(
    body: {
      options: SmtpClientOptions;
      transport?: "default" | "cloudflare";
      mail: MailSpec;
    },
  ): Promise<Response> {
    return attempt(async () => {
      const result = await sendmail(sessionOptions(body), mailOf(body.mail));
      return {
        result: {
          accepted: result.accepted,
          rejected: result.rejected.map((r) => r.recipient),
          secure: result.secure,
          messageId: result.messageId,
        },
      };
    });
  },

  /** `count` sends at once on one client, then QUIT. */
  pipeline(
    body: { options: SmtpClientOptions; count: number },
  ): Promise<Response> {
    return attempt(async () => {
      const client = await SmtpClient.connect(body.options);
      try {
        const results = await Promise.all(
          Array.from(
            { length: body.count },
            (_, i) => client.send(simpleMail(i)),
          ),
        );
        return { accepted: results.map((r) => r.accepted) };
      } finally {
        await client.quit();
      }
    });
  },

  /** Answers at once and sends afterwards, kept alive by `ctx.waitUntil`. */
  waitUntil(
    body: { options: SmtpClientOptions; mail: MailSpec },
    _env: Env,
    ctx: ExecutionContext,
  ): Promise<Response> {
    ctx.waitUntil(
      sendmail(body.options, mailOf(body.mail)).catch((error) => {
        console.error("the waitUntil send failed:", error);
      }),
    );
    return Promise.resolve(json({ ok: true, answered: Date.now() }, 202));
  },

  /** One `cloudflareConnect`, optionally aborted after `abortAfter` ms. */
  probe(
    body: {
      options: Omit<ConnectOptions, "signal">;
      abortAfter?: number;
    },
  ): Promise<Response> {
    return attempt(async () => {
      const controller = new AbortController();
      const reason = new Error("given up");
      let timer: ReturnType<typeof setTimeout> | undefined;
      if (body.abortAfter !== undefined) {
        timer = setTimeout(() => controller.abort(reason), body.abortAfter);
      }
      try {
        const conn = await cloudflareConnect({
          ...body.options,
          signal: controller.signal,
        });
        const secure = conn.secure;
        conn.close();
        return { secure };
      } catch (error) {
        if (error === reason) return { aborted: true };
        throw error;
      } finally {
        clearTimeout(timer);
      }
    });
  },

  /** What the port policy sees inside the Worker. */
  platform(): Promise<Response> {
    const snapshot = readPlatformSnapshot();
    const blocks: Record<string, string | null> = {};
    for (const port of [25, 465, 587, 2525]) {
      const block = portBlock(snapshot, port);
      blocks[port] = block
        ? blockedPortError(block, "smtp.example.com").message
        : null;
    }
    return Promise.resolve(json({
      snapshot,
      platform: detectPlatform(snapshot) ?? null,
      blocks,
      hasProcess: typeof (globalThis as { process?: unknown }).process !==
        "undefined",
    }));
  },
};

export default {
  async fetch(
    request: Request,
    env: Env,
    ctx: ExecutionContext,
  ): Promise<Response> {
    const name = new URL(request.url).pathname.slice(1);
    if (name === "health") return new Response("ok");
    const route = Object.hasOwn(routes, name) ? routes[name] : undefined;
    if (!route) return json({ error: `No route ${name}` }, 404);
    const body = request.method === "POST" ? await request.json() : undefined;
    return await route(body as never, env, ctx);
  },
};
