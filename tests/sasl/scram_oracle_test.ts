// SCRAM against an independent implementation: Perl's Authen::SCRAM
// (Debian's libauthen-scram-perl), as the server our client logs in to and
// as the client of the capture server's SCRAM.

import assert from "node:assert/strict";
import { fromBase64, toBase64 } from "../../src/protocol/_base64.ts";
import { startSasl } from "../../src/sasl/_sasl.ts";
import type { ScramMechanism } from "../../src/sasl/_scram.ts";
import { authenticate, type AuthOutcome } from "../../src/testing/_auth.ts";
import { interopRequired } from "../_harness/mod.ts";

const SCRIPT = new URL("./scram_oracle.pl", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const b64 = (text: string): string => toBase64(encoder.encode(text));
const unb64 = (text: string): string => decoder.decode(fromBase64(text));

/** Why the oracle cannot run, or `undefined`. */
function missingOracle(): string | undefined {
  try {
    const ok = new Deno.Command("perl", {
      args: ["-MAuthen::SCRAM::Server", "-MAuthen::SCRAM::Client", "-e1"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
    return ok ? undefined : "Authen::SCRAM is not installed";
  } catch {
    return "perl is not installed";
  }
}
const MISSING = missingOracle();

/** Like `interop()`: skipped without the oracle, failing under CI. */
function oracleTest(name: string, fn: () => Promise<void>): void {
  if (MISSING === undefined) {
    Deno.test(name, fn);
  } else if (interopRequired()) {
    Deno.test(name, () => {
      throw new Error(
        `Cannot run interop test with SENDMAIL_INTEROP=required: ${MISSING} (apt-get install libauthen-scram-perl)`,
      );
    });
  } else {
    console.warn(
      `ignoring "${name}": ${MISSING} (apt-get install libauthen-scram-perl)`,
    );
    Deno.test({ name, ignore: true, fn });
  }
}

/** The Perl process, spoken to in lines. */
class Oracle implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";

  constructor(args: string[]) {
    this.#child = new Deno.Command("perl", {
      args: [SCRIPT, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#reader = this.#child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
  }

  async line(): Promise<string> {
    while (!this.#buffer.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("the oracle closed its output");
      this.#buffer += value;
    }
    const end = this.#buffer.indexOf("\n");
    const line = this.#buffer.slice(0, end);
    this.#buffer = this.#buffer.slice(end + 1);
    return line;
  }

  async send(line: string): Promise<void> {
    await this.#writer.write(encoder.encode(`${line}\n`));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#writer.close().catch(() => {});
    for (;;) {
      const { done } = await this.#reader.read();
      if (done) break;
    }
    await this.#child.status;
  }
}

const DIGEST = { "SCRAM-SHA-256": "SHA-256", "SCRAM-SHA-1": "SHA-1" } as const;

/** Our client against the Perl server, which stores `stored`. */
async function clientToOracle(
  mechanism: ScramMechanism,
  username: string,
  password: string,
  stored: string,
  iterations: number,
): Promise<string> {
  await using oracle = new Oracle([
    "server",
    DIGEST[mechanism],
    b64(username),
    b64(stored),
    String(iterations),
  ]);
  const session = await startSasl(
    { username, password },
    mechanism,
    "localhost",
    587,
  );
  await oracle.send(session.initialResponse!);
  const clientFinal = await session.respond(await oracle.line());
  await oracle.send(clientFinal);
  const serverFinal = await oracle.line();
  if (serverFinal.startsWith("ERROR ")) return serverFinal;
  assert.equal(await session.respond(serverFinal), "");
  session.finish();
  const user = await oracle.line();
  return `${user.slice(0, 5)}${unb64(user.slice(5))}`;
}

for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-1"] as const) {
  oracleTest(
    `SaslSession ${mechanism} logs in to Perl's Authen::SCRAM::Server and verifies its signature`,
    async () => {
      assert.equal(
        await clientToOracle(mechanism, "user", "pencil", "pencil", 4096),
        "USER user",
      );
      assert.equal(
        await clientToOracle(
          mechanism,
          "joe@example.com",
          "correct horse battery",
          "correct horse battery",
          15_000,
        ),
        "USER joe@example.com",
      );
      // SASLprep on both sides: "I<soft hyphen>X" and "\u2168" are "IX".
      // (Not a user name with "," or "=": Authen::SCRAM 0.011 unescapes
      // only a lowercase "=2c"/"=3d", where RFC 5802 §5.1 has "=2C"/"=3D".)
      assert.equal(
        await clientToOracle(mechanism, "user", "I\u00ADX", "\u2168", 4096),
        "USER user",
      );
      assert.equal(
        await clientToOracle(mechanism, "u", "pässwörd €", "pässwörd €", 4096),
        "USER u",
      );
    },
  );

  oracleTest(
    `Perl's Authen::SCRAM::Server refuses the ${mechanism} proof of a wrong password`,
    async () => {
      const outcome = await clientToOracle(
        mechanism,
        "user",
        "wrong",
        "pencil",
        4096,
      );
      assert.match(outcome, /^ERROR /);
    },
  );

  oracleTest(
    `The capture server's ${mechanism} accepts Perl's Authen::SCRAM::Client, which verifies its signature`,
    async () => {
      for (
        const [username, password, stored, expected] of [
          ["alice", "pencil", "pencil", "OK"],
          ["alice", "\u2168", "I\u00ADX", "OK"],
          ["alice", "wrong", "pencil", "ERROR"],
        ]
      ) {
        await using oracle = new Oracle([
          "client",
          DIGEST[mechanism],
          b64(username!),
          b64(password!),
        ]);
        const outcome: AuthOutcome = await authenticate(
          mechanism,
          await oracle.line(),
          async (challenge) => {
            await oracle.send(challenge);
            if (challenge !== "" && unb64(challenge).startsWith("v=")) {
              const verdict = await oracle.line();
              return verdict === "OK" ? "" : "*";
            }
            return await oracle.line();
          },
          { alice: stored! },
          "mx.test",
        );
        if (expected === "OK") {
          assert.deepEqual(outcome, { ok: true, user: "alice" }, password);
        } else {
          assert.equal(outcome.ok, false);
        }
      }
    },
  );
}
