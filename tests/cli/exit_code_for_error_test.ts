import assert from "node:assert/strict";
import { CliError, ExitCode, exitCodeForError } from "../../cli.ts";
import { connectionFailure } from "../../src/transport/connection_failure.ts";
import { SmtpError } from "../../mod.ts";
import type { Reply } from "../../mod.ts";

const reply = (code: number, text = "no"): Reply => ({
  code,
  lines: [text],
  text,
});
const replied = (code: number, command?: string): SmtpError =>
  new SmtpError(`Cannot send ${command}: server replied ${code}`, {
    reply: reply(code),
    ...(command !== undefined && { command }),
  });

Deno.test("exitCodeForError gives 75 for every temporary failure so that callers retry", () => {
  for (const command of ["MAIL", "RCPT", "DATA", "EHLO", "AUTH", undefined]) {
    assert.equal(exitCodeForError(replied(450, command)), 75, String(command));
  }
  assert.equal(exitCodeForError(replied(421)), 75);
  assert.equal(
    exitCodeForError(new SmtpError("Timed out", { kind: "timeout" })),
    75,
  );
  assert.equal(
    exitCodeForError(
      new SmtpError("Connection dropped", { kind: "connection" }),
    ),
    75,
  );
  assert.equal(
    exitCodeForError(
      new SmtpError("Cannot connect", {
        kind: "connection",
        cause: connectionFailure("Connection refused", "refused"),
      }),
    ),
    75,
  );
  assert.equal(exitCodeForError(connectionFailure("reset", "reset")), 75);
  assert.equal(
    exitCodeForError(new DOMException("timed out", "TimeoutError")),
    75,
  );
  assert.equal(
    exitCodeForError(
      new SmtpError("AUTH: 454", {
        kind: "auth",
        reply: reply(454),
        command: "AUTH",
      }),
    ),
    75,
  );
});

Deno.test("exitCodeForError gives 65 for a permanent refusal of the sender, a recipient or the data", () => {
  for (const command of ["MAIL", "RCPT", "DATA", "BDAT", "."]) {
    assert.equal(exitCodeForError(replied(550, command)), 65, command);
  }
  assert.equal(exitCodeForError(new TypeError("Invalid address")), 65);
});

Deno.test("exitCodeForError gives 68 when the host name does not resolve, 75 when DNS is down", () => {
  const lookup = connectionFailure(
    "Cannot connect to nowhere.invalid:25: Name or service not known",
    "dns",
  );
  assert.equal(exitCodeForError(lookup), 68);
  assert.equal(
    exitCodeForError(
      new SmtpError("Cannot connect", { kind: "connection", cause: lookup }),
    ),
    68,
  );
  // denoConnect reports a resolver that is down as "timeout".
  const again = connectionFailure(
    "Cannot connect to example.com:25: Temporary failure in name resolution",
    "timeout",
  );
  assert.equal(
    exitCodeForError(
      new SmtpError("Cannot connect", { kind: "connection", cause: again }),
    ),
    75,
  );
});

Deno.test("exitCodeForError gives 77 when authentication is refused", () => {
  assert.equal(exitCodeForError(replied(535, "AUTH")), 77);
  assert.equal(
    exitCodeForError(new SmtpError("No mechanism in common", { kind: "auth" })),
    77,
  );
});

Deno.test("exitCodeForError gives 76 for protocol and TLS failures, 69 for an unavailable service", () => {
  assert.equal(
    exitCodeForError(new SmtpError("Malformed reply", { kind: "protocol" })),
    76,
  );
  assert.equal(
    exitCodeForError(new SmtpError("STARTTLS is required", { kind: "tls" })),
    76,
  );
  assert.equal(exitCodeForError(replied(502, "EHLO")), 76);
  assert.equal(exitCodeForError(replied(554)), 69); // refused greeting
  assert.equal(
    exitCodeForError(new SmtpError("Needs SMTPUTF8", { kind: "unsupported" })),
    69,
  );
});

Deno.test("exitCodeForError keeps the status of command errors and gives 70 otherwise", () => {
  assert.equal(exitCodeForError(new CliError("bad", ExitCode.CONFIG)), 78);
  assert.equal(exitCodeForError(new CliError("bad", ExitCode.USAGE)), 64);
  assert.equal(exitCodeForError(new Error("bug")), 70);
  assert.equal(exitCodeForError("a string"), 70);
  assert.equal(
    exitCodeForError(new SmtpError("closed", { kind: "closed" })),
    70,
  );
});
