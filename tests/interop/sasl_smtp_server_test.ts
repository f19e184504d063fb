// The SASL mechanisms against Nodemailer's smtp-server, in process, over a
// plaintext loopback connection: the server's onAuth proves what it decoded.
// OAUTHBEARER is not among smtp-server's mechanisms; its wire format is
// pinned to the RFC 7628 example in tests/sasl/sasl_test.ts.

import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import {
  SMTPServer,
  type SMTPServerAuthentication,
  type SMTPServerAuthenticationResponse,
} from "npm:smtp-server@3";
import {
  chooseMechanism,
  type SaslSession,
  startSasl,
} from "../../src/sasl/_sasl.ts";
import type { PasswordAuth, TokenAuth } from "../../src/sasl/credentials.ts";

type OnAuth = (
  auth: SMTPServerAuthentication,
) =>
  | SMTPServerAuthenticationResponse
  | { data: Record<string, string> }
  | Error;

interface TestServer extends AsyncDisposable {
  port: number;
  /** What onAuth received, in order. */
  seen: SMTPServerAuthentication[];
}

async function startServer(onAuth: OnAuth): Promise<TestServer> {
  const seen: SMTPServerAuthentication[] = [];
  const server = new SMTPServer({
    authMethods: ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"],
    allowInsecureAuth: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onAuth(auth, _session, callback) {
      seen.push(auth);
      const result = onAuth(auth);
      if (result instanceof Error) callback(result);
      else callback(null, result as SMTPServerAuthenticationResponse);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    seen,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A minimal line-oriented SMTP client over Deno.connect: enough to drive AUTH. */
class Wire implements AsyncDisposable {
  #conn: Deno.TcpConn;
  #buffer = "";
  #decoder = new TextDecoder();
  /** The lines the client sent, for checking what went on the wire. */
  sent: string[] = [];

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async open(port: number): Promise<Wire> {
    const wire = new Wire(await Deno.connect({ hostname: "127.0.0.1", port }));
    assert.equal((await wire.reply()).code, 220);
    return wire;
  }

  async send(line: string): Promise<void> {
    assert.doesNotMatch(line, /[\r\n]/);
    this.sent.push(line);
    const bytes = new TextEncoder().encode(`${line}\r\n`);
    for (let written = 0; written < bytes.length;) {
      written += await this.#conn.write(bytes.subarray(written));
    }
  }

  async reply(): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.#line();
      lines.push(line.slice(4));
      if (line[3] !== "-") return { code: Number(line.slice(0, 3)), lines };
    }
  }

  async #line(): Promise<string> {
    for (;;) {
      const end = this.#buffer.indexOf("\r\n");
      if (end >= 0) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        return line;
      }
      const chunk = new Uint8Array(4096);
      const n = await this.#conn.read(chunk);
      if (n === null) throw new Error("Connection closed by the server");
      this.#buffer += this.#decoder.decode(chunk.subarray(0, n), {
        stream: true,
      });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.send("QUIT");
      await this.reply();
    } finally {
      this.#conn.close();
    }
  }
}

/** EHLO, pick the mechanism, run the exchange; returns the final reply. */
async function authenticate(
  wire: Wire,
  port: number,
  auth: PasswordAuth | TokenAuth,
): Promise<{ code: number; sasl: SaslSession }> {
  await wire.send("EHLO client.test");
  const ehlo = await wire.reply();
  assert.equal(ehlo.code, 250);
  const offered = ehlo.lines.find((line) => /^AUTH[ =]/i.test(line))
    ?.slice(5).split(" ") ?? [];
  const mechanism = chooseMechanism(offered, auth, false);
  const sasl = await startSasl(auth, mechanism, "127.0.0.1", port);
  await wire.send(
    sasl.initialResponse === undefined
      ? `AUTH ${mechanism}`
      : `AUTH ${mechanism} ${sasl.initialResponse}`,
  );
  for (;;) {
    const reply = await wire.reply();
    if (reply.code !== 334) return { code: reply.code, sasl };
    await wire.send(await sasl.respond(reply.lines[0] ?? ""));
  }
}

const USER = "jürgen@example.com";
const PASSWORD = "pässwörd with spaces €";

function checkPassword(auth: SMTPServerAuthentication) {
  return auth.username === USER && auth.password === PASSWORD
    ? { user: auth.username }
    : new Error("Invalid username or password");
}

Deno.test("startSasl() PLAIN is accepted by smtp-server", async () => {
  await using server = await startServer(checkPassword);
  await using wire = await Wire.open(server.port);
  const result = await authenticate(wire, server.port, {
    username: USER,
    password: PASSWORD,
    mechanism: "PLAIN",
  });
  assert.equal(result.code, 235);
  assert.equal(server.seen.length, 1);
  assert.equal(server.seen[0]!.method, "PLAIN");
  assert.equal(server.seen[0]!.username, USER);
  assert.equal(server.seen[0]!.password, PASSWORD);
});

Deno.test("startSasl() PLAIN with a wrong password is refused by smtp-server", async () => {
  await using server = await startServer(checkPassword);
  await using wire = await Wire.open(server.port);
  const result = await authenticate(wire, server.port, {
    username: USER,
    password: "wrong",
    mechanism: "PLAIN",
  });
  assert.equal(result.code, 535);
});

Deno.test("startSasl() LOGIN is accepted by smtp-server", async () => {
  await using server = await startServer(checkPassword);
  await using wire = await Wire.open(server.port);
  const result = await authenticate(wire, server.port, {
    username: USER,
    password: PASSWORD,
    mechanism: "LOGIN",
  });
  assert.equal(result.code, 235);
  assert.equal(server.seen[0]!.method, "LOGIN");
  assert.equal(server.seen[0]!.username, USER);
  assert.equal(server.seen[0]!.password, PASSWORD);
  assert.deepEqual(wire.sent.slice(1, 2), ["AUTH LOGIN"]);
});

Deno.test("startSasl() CRAM-MD5 is accepted by smtp-server without sending the password", async () => {
  await using server = await startServer((auth) =>
    auth.username === USER && auth.validatePassword(PASSWORD)
      ? { user: auth.username }
      : new Error("Invalid username or password")
  );
  await using wire = await Wire.open(server.port);
  // No mechanism named: without TLS, CRAM-MD5 is preferred.
  const result = await authenticate(wire, server.port, {
    username: USER,
    password: PASSWORD,
  });
  assert.equal(result.sasl.mechanism, "CRAM-MD5");
  assert.equal(result.code, 235);
  assert.equal(server.seen[0]!.method, "CRAM-MD5");
  assert.equal(server.seen[0]!.validatePassword("not it"), false);
  const wireText = wire.sent.map((line) => {
    try {
      return new TextDecoder().decode(Uint8Array.fromBase64(line));
    } catch {
      return line;
    }
  }).join("\n");
  assert.ok(!wireText.includes(PASSWORD));
});

Deno.test("startSasl() XOAUTH2 is accepted by smtp-server", async () => {
  await using server = await startServer((auth) =>
    auth.accessToken === "ya29.token"
      ? { user: auth.username }
      : new Error("no")
  );
  await using wire = await Wire.open(server.port);
  const result = await authenticate(wire, server.port, {
    username: USER,
    accessToken: () => Promise.resolve("ya29.token"),
  });
  assert.equal(result.sasl.mechanism, "XOAUTH2");
  assert.equal(result.code, 235);
  assert.equal(server.seen[0]!.method, "XOAUTH2");
  assert.equal(server.seen[0]!.username, USER);
  assert.equal(server.seen[0]!.accessToken, "ya29.token");
});

Deno.test("startSasl() XOAUTH2 sends a token too long for the AUTH line after the empty challenge", async () => {
  const token = "eyJ0eXAi" + "x".repeat(2000);
  await using server = await startServer((auth) =>
    auth.accessToken === token ? { user: auth.username } : new Error("no")
  );
  await using wire = await Wire.open(server.port);
  const result = await authenticate(wire, server.port, {
    username: USER,
    accessToken: token,
  });
  assert.equal(result.code, 235);
  assert.equal(wire.sent[1], "AUTH XOAUTH2");
  assert.equal(server.seen[0]!.accessToken, token);
});

Deno.test("SaslSession.respond() lets smtp-server finish a refused XOAUTH2 exchange", async () => {
  const report = {
    status: "401",
    schemes: "bearer",
    scope: "https://mail.example/",
  };
  await using server = await startServer(() => ({ data: report }));
  await using wire = await Wire.open(server.port);
  const result = await authenticate(wire, server.port, {
    username: USER,
    accessToken: "expired",
  });
  assert.equal(result.code, 535);
  assert.deepEqual(JSON.parse(result.sasl.serverError!), report);
  assert.equal(wire.sent.at(-1), "");
});
