import assert from "node:assert/strict";
import { CliError } from "../../cli.ts";
import {
  prepareMessage,
  type PrepareOptions,
} from "../../src/cli/_prepare_message.ts";

const encoder = new TextEncoder();
const now = new Date(Date.UTC(2025, 10, 29, 8, 45, 0));

const options = (over: Partial<PrepareOptions> = {}): PrepareOptions => ({
  readRecipients: false,
  recipients: [],
  envelopeFrom: "ada@example.com",
  ignoreDots: true,
  setFromHeader: "auto",
  setDateHeader: "auto",
  setMessageIdHeader: "auto",
  removeBcc: true,
  undisclosedRecipients: false,
  defaultFrom: "nobody@host.example",
  hostname: "host.example",
  now,
  ...over,
});

const stream = (...chunks: string[]): ReadableStream<Uint8Array> =>
  ReadableStream.from(chunks.map((c) => encoder.encode(c)));

async function prepared(
  input: string | ReadableStream<Uint8Array>,
  over: Partial<PrepareOptions> = {},
) {
  const message = await prepareMessage(
    typeof input === "string" ? stream(input) : input,
    options(over),
  );
  return { ...message, text: await new Response(message.raw).text() };
}

const COMPLETE =
  "From: Ada <ada@example.com>\r\nDate: Sat, 1 Nov 2025 10:00:00 +0000\r\n" +
  "Message-ID: <1@example.com>\r\n";

Deno.test("prepareMessage takes -t recipients from To, Cc and Bcc, and removes Bcc", async () => {
  const m = await prepared(
    COMPLETE +
      'To: "Lovelace, Bob" <bob@example.com>,\r\n carol@example.com\r\n' +
      "Cc: dan@example.com\r\nBcc: eve@example.com,\r\n\tfay@example.com\r\n" +
      "Subject: hi\r\n\r\nBcc: this is body text\r\n",
    {
      readRecipients: true,
      recipients: ["zed@example.com", "carol@example.com"],
    },
  );
  assert.deepEqual(m.envelope.to, [
    "zed@example.com",
    "carol@example.com",
    "bob@example.com",
    "dan@example.com",
    "eve@example.com",
    "fay@example.com",
  ]);
  assert.equal(
    m.text,
    COMPLETE +
      'To: "Lovelace, Bob" <bob@example.com>,\r\n carol@example.com\r\n' +
      "Cc: dan@example.com\r\nSubject: hi\r\n\r\nBcc: this is body text\r\n",
  );
  assert.equal(m.messageId, "<1@example.com>");
});

Deno.test("prepareMessage takes -t recipients from the newest Resent- block when there is one", async () => {
  const m = await prepared(
    "Resent-From: x@example.com\nResent-To: new@example.com\nResent-Bcc: hidden@example.com\n" +
      "Resent-From: y@example.com\nResent-To: older@example.com\n" +
      COMPLETE + "To: original@example.com\n\nbody\n",
    { readRecipients: true },
  );
  assert.deepEqual(m.envelope.to, ["new@example.com", "hidden@example.com"]);
  assert.doesNotMatch(m.text, /hidden/);
});

Deno.test("prepareMessage removes Bcc without -t too, unless told to keep it", async () => {
  const input = COMPLETE + "Bcc: eve@example.com\n\nbody\n";
  const removed = await prepared(input, { recipients: ["bob@example.com"] });
  assert.doesNotMatch(removed.text, /Bcc/);
  assert.deepEqual(removed.envelope.to, ["bob@example.com"]);
  const kept = await prepared(input, {
    recipients: ["bob@example.com"],
    removeBcc: false,
  });
  assert.match(kept.text, /Bcc: eve@example.com/);
});

Deno.test("prepareMessage adds From, Date and Message-ID when missing", async () => {
  const m = await prepared("Subject: hi\n\nbody\n", {
    recipients: ["bob@example.com"],
    fullName: "Ada Lovelace",
  });
  const lines = m.text.split("\r\n");
  assert.equal(
    lines[0],
    "Subject: hi\n" + "From: Ada Lovelace <ada@example.com>",
  );
  assert.match(
    m.text,
    /\r\nDate: [A-Z][a-z]{2}, \d{1,2} Nov 2025 \d\d:\d\d:00 [+-]\d{4}\r\n/,
  );
  assert.match(
    m.text,
    /\r\nMessage-ID: <[0-9a-z]+\.[0-9a-f]{24}@example\.com>\r\n\nbody\n$/,
  );
  assert.equal(m.messageId, /Message-ID: (<[^>]+>)/.exec(m.text)?.[1]);
});

Deno.test("prepareMessage encodes an -F name that is not plain ASCII or has specials", async () => {
  const quoted = await prepared("\nbody", {
    recipients: ["b@x.example"],
    fullName: "Ada, Countess",
  });
  assert.match(quoted.text, /^From: "Ada, Countess" <ada@example.com>\r\n/);
  const encoded = await prepared("\nbody", {
    recipients: ["b@x.example"],
    fullName: "Élise Ðoe",
  });
  assert.match(
    encoded.text,
    /^From: =\?UTF-8\?B\?w4lsaXNlIMOQb2U=\?= <ada@example.com>\r\n/,
  );
});

Deno.test("prepareMessage takes the envelope sender from the From field when none is given", async () => {
  const fromField = await prepared(
    'From: "Ada L." <ada@lovelace.example>\n\nx',
    {
      envelopeFrom: undefined,
      recipients: ["b@example.com"],
    },
  );
  assert.equal(fromField.envelope.from, "ada@lovelace.example");
  assert.match(
    fromField.text,
    /^From: "Ada L." <ada@lovelace.example>\nDate: .*\r\nMessage-ID: <[^>]+@lovelace.example>\r\n/,
  );
  const none = await prepared("Subject: x\n\nx", {
    envelopeFrom: undefined,
    recipients: ["b@example.com"],
  });
  assert.equal(none.envelope.from, "nobody@host.example");
  assert.match(none.text, /^Subject: x\nFrom: nobody@host.example\r\n/);
  // Two authors: no single sender, so the default.
  const two = await prepared(
    "From: a@example.com, b@example.com\nSender: a@example.com\n\nx",
    {
      envelopeFrom: undefined,
      recipients: ["c@example.com"],
    },
  );
  assert.equal(two.envelope.from, "nobody@host.example");
  const local = await prepared("From: root (Cron Daemon)\n\nx", {
    envelopeFrom: undefined,
    recipients: ["c@example.com"],
  });
  assert.equal(local.envelope.from, "nobody@host.example");
  const given = await prepared("From: a@example.com\n\nx", {
    recipients: ["c@example.com"],
  });
  assert.equal(given.envelope.from, "ada@example.com");
});

Deno.test("prepareMessage honours msmtp's set_from_header, undisclosed_recipients and header switches", async () => {
  const on = await prepared(
    "From: spoof@example.net\nTo: bob@example.com\n\nx",
    {
      readRecipients: true,
      setFromHeader: "on",
      setDateHeader: "off",
      setMessageIdHeader: "off",
    },
  );
  assert.equal(on.text, "To: bob@example.com\nFrom: ada@example.com\r\n\nx");
  const hidden = await prepared("To: bob@example.com\nCc: c@example.com\n\nx", {
    readRecipients: true,
    undisclosedRecipients: true,
    setDateHeader: "off",
    setMessageIdHeader: "off",
    setFromHeader: "off",
  });
  assert.equal(hidden.text, "To: undisclosed-recipients:;\r\n\nx");
  assert.deepEqual(hidden.envelope.to, ["bob@example.com", "c@example.com"]);
});

Deno.test("prepareMessage starts the body at a line that is not a header field", async () => {
  const noHeader = await prepared("hello world\nsecond line\n", {
    recipients: ["b@example.com"],
    setDateHeader: "off",
    setMessageIdHeader: "off",
  });
  assert.equal(
    noHeader.text,
    "From: ada@example.com\r\n\r\nhello world\nsecond line\n",
  );
  const injected = await prepared(
    COMPLETE + "Subject: x\nnot a field\nBcc: z@example.com\n",
    {
      recipients: ["b@example.com"],
    },
  );
  assert.equal(
    injected.text,
    COMPLETE + "Subject: x\n\r\nnot a field\nBcc: z@example.com\n",
  );
});

Deno.test("prepareMessage drops a leading mbox From_ line and handles a header without body", async () => {
  const m = await prepared(
    "From ada@example.com Sat Nov 29 08:45:00 2025\n" + COMPLETE + "Subject: x",
    {
      recipients: ["b@example.com"],
    },
  );
  assert.equal(m.text, COMPLETE + "Subject: x\r\n\r\n");
});

Deno.test("prepareMessage applies dot termination before reading the header", async () => {
  const m = await prepared(
    COMPLETE + "Subject: x\n\nline\n.\nafter the end\n",
    {
      recipients: ["b@example.com"],
      ignoreDots: false,
    },
  );
  assert.equal(m.text, COMPLETE + "Subject: x\n\nline\n");
  const i = await prepared(COMPLETE + "\nline\n.\nafter\n", {
    recipients: ["b@example.com"],
    ignoreDots: true,
  });
  assert.equal(i.text, COMPLETE + "\nline\n.\nafter\n");
});

Deno.test("prepareMessage expands aliases and removes duplicate recipients", async () => {
  const m = await prepared(COMPLETE + "To: root, b@example.com\n\nx", {
    readRecipients: true,
    recipients: ["B@example.com"],
    expandAlias: (r) =>
      r === "root" ? ["admin@example.com", "b@example.com"] : [r],
  });
  assert.deepEqual(m.envelope.to, ["B@example.com", "admin@example.com"]);
});

Deno.test("prepareMessage fails with 64 when there is no recipient", async () => {
  for (const readRecipients of [false, true]) {
    await assert.rejects(
      prepareMessage(
        stream("To: undisclosed-recipients:;\n\nx"),
        options({ readRecipients }),
      ),
      (error) => {
        assert.ok(error instanceof CliError);
        assert.equal(error.exitCode, 64);
        assert.match(error.message, /^No recipient/);
        return true;
      },
    );
  }
});

Deno.test("prepareMessage fails with 65 on a header section over the limit", async () => {
  const long = "X-Long: " + "a".repeat(2000) + "\n";
  await assert.rejects(
    prepareMessage(stream(long.repeat(10), "\nbody"), {
      ...options({ recipients: ["b@example.com"] }),
      maxHeaderBytes: 8192,
    }),
    (error) => {
      assert.ok(error instanceof CliError);
      assert.equal(error.exitCode, 65);
      assert.match(error.message, /header section is longer than 8192 bytes/);
      return true;
    },
  );
  // One line without end, longer than the limit.
  await assert.rejects(
    prepareMessage(stream("X: " + "a".repeat(10000)), {
      ...options({ recipients: ["b@example.com"] }),
      maxHeaderBytes: 8192,
    }),
    /longer than 8192 bytes/,
  );
});

Deno.test("prepareMessage reads the body only as the message is read, chunk by chunk", async () => {
  let pulls = 0;
  const chunks = [COMPLETE + "Subject: x\n\nfirst\n", "second\n", "third\n"];
  const input = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[pulls++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(encoder.encode(chunk));
    },
  }, { highWaterMark: 0 });
  const m = await prepareMessage(
    input,
    options({ recipients: ["b@example.com"] }),
  );
  assert.equal(pulls, 1); // only the header section has been read
  const reader = m.raw.getReader();
  const first = await reader.read();
  assert.match(new TextDecoder().decode(first.value), /first\n$/);
  assert.equal(pulls, 1);
  const second = await reader.read();
  assert.equal(new TextDecoder().decode(second.value), "second\n");
  await reader.cancel();
});

Deno.test("prepareMessage fails with 65 on a -t recipient holding a control character", async () => {
  await assert.rejects(
    prepareMessage(
      stream("To: bob\x01@example.com\n\nx"),
      options({ readRecipients: true }),
    ),
    (error) => {
      assert.ok(error instanceof CliError);
      assert.equal(error.exitCode, 65);
      assert.match(error.message, /^Invalid recipient in the To field/);
      return true;
    },
  );
});
