// PLAIN and LOGIN against Python's aiosmtpd, whose LOGIN prompts are the
// non-standard "User Name\0" and "Password\0", over plaintext loopback.
// Skipped (with the reason) when aiosmtpd is missing, unless CI requires it.

import assert from "node:assert/strict";
import { startSasl } from "../../src/sasl/_sasl.ts";
import type { AuthMechanism } from "../../src/sasl/credentials.ts";

const PYTHON = "/usr/bin/python3";

const SERVER = `
import json, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

USER, PASSWORD = sys.argv[2].encode(), sys.argv[3].encode()

class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

def authenticator(server, session, envelope, mechanism, data):
    print(json.dumps({"mechanism": mechanism, "login": data.login.decode(),
                      "password": data.password.decode()}), flush=True)
    ok = data.login == USER and data.password == PASSWORD
    return AuthResult(success=ok, handled=False)

controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]),
                        authenticator=authenticator, auth_require_tls=False)
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
`;

function hasAiosmtpd(): boolean {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", "import aiosmtpd"] })
      .outputSync().success;
  } catch {
    return false;
  }
}
const available = hasAiosmtpd();
if (!available && Deno.env.get("SENDMAIL_INTEROP") === "required") {
  throw new Error("aiosmtpd is required (SENDMAIL_INTEROP=required)");
}

const USER = "jürgen@example.com";
const PASSWORD = "pässwörd with spaces €";

interface Aiosmtpd extends AsyncDisposable {
  port: number;
  /** What the authenticator received; complete once disposed. */
  seen: { mechanism: string; login: string; password: string }[];
}

async function startAiosmtpd(password = PASSWORD): Promise<Aiosmtpd> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const child = new Deno.Command(PYTHON, {
    args: ["-c", SERVER, String(port), USER, password],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  while (!output.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    output += value;
  }
  const seen: Aiosmtpd["seen"] = [];
  return {
    port,
    seen,
    async [Symbol.asyncDispose]() {
      await child.stdin.close();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        output += value;
      }
      await child.status;
      for (const line of output.split("\n")) {
        if (line.startsWith("{")) seen.push(JSON.parse(line));
      }
    },
  };
}

/** Runs one AUTH exchange over a raw socket; returns the final code and the lines sent. */
async function authenticate(
  port: number,
  mechanism: AuthMechanism,
  password: string,
): Promise<{ code: number; sent: string[] }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const sent: string[] = [];
  let buffer = "";
  const line = async (): Promise<string> => {
    for (;;) {
      const end = buffer.indexOf("\r\n");
      if (end >= 0) {
        const text = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        return text;
      }
      const chunk = new Uint8Array(4096);
      const n = await conn.read(chunk);
      if (n === null) throw new Error("Connection closed by the server");
      buffer += decoder.decode(chunk.subarray(0, n), { stream: true });
    }
  };
  const reply = async (): Promise<{ code: number; text: string }> => {
    for (;;) {
      const text = await line();
      if (text[3] !== "-") {
        return { code: Number(text.slice(0, 3)), text: text.slice(4) };
      }
    }
  };
  const send = async (text: string): Promise<void> => {
    sent.push(text);
    await conn.write(encoder.encode(`${text}\r\n`));
  };
  try {
    await reply();
    await send("EHLO client.test");
    await reply();
    const sasl = await startSasl(
      { username: USER, password },
      mechanism,
      "127.0.0.1",
      port,
    );
    await send(
      sasl.initialResponse === undefined
        ? `AUTH ${mechanism}`
        : `AUTH ${mechanism} ${sasl.initialResponse}`,
    );
    let final = await reply();
    while (final.code === 334) {
      await send(await sasl.respond(final.text));
      final = await reply();
    }
    await send("QUIT");
    await reply();
    return { code: final.code, sent };
  } finally {
    conn.close();
  }
}

const ignore = !available;
const reason = ignore ? " (skipped: aiosmtpd is not installed)" : "";

Deno.test({
  name: `startSasl() PLAIN and LOGIN are accepted by aiosmtpd${reason}`,
  ignore,
  async fn() {
    const results: { code: number; sent: string[] }[] = [];
    let seen: Aiosmtpd["seen"];
    {
      await using server = await startAiosmtpd();
      seen = server.seen;
      results.push(await authenticate(server.port, "PLAIN", PASSWORD));
      results.push(await authenticate(server.port, "LOGIN", PASSWORD));
      results.push(await authenticate(server.port, "LOGIN", "wrong"));
    }
    assert.deepEqual(results.map((r) => r.code), [235, 235, 535]);
    assert.deepEqual(seen, [
      { mechanism: "PLAIN", login: USER, password: PASSWORD },
      { mechanism: "LOGIN", login: USER, password: PASSWORD },
      { mechanism: "LOGIN", login: USER, password: "wrong" },
    ]);
  },
});

Deno.test({
  name:
    `startSasl() PLAIN with a long password is accepted by aiosmtpd after the empty challenge${reason}`,
  ignore,
  async fn() {
    // Too long for the AUTH line (515 octets), short enough for aiosmtpd's
    // 512-octet limit on a SASL response line.
    const long = "p".repeat(357);
    let seen: Aiosmtpd["seen"];
    let result: { code: number; sent: string[] };
    {
      await using server = await startAiosmtpd(long);
      seen = server.seen;
      result = await authenticate(server.port, "PLAIN", long);
    }
    assert.equal(result.sent[1], "AUTH PLAIN");
    assert.equal(result.sent[2]!.length, 504);
    assert.equal(result.code, 235);
    assert.deepEqual(seen, [{
      mechanism: "PLAIN",
      login: USER,
      password: long,
    }]);
  },
});
