/**
 * End-to-end sends on the runtime that runs this file (`node --test`,
 * `bun test`), through the default transport (`nodeConnect` there), to the
 * capture server of `./testing` running on the same runtime and to
 * aiosmtpd: STARTTLS with AUTH, implicit TLS, refused certificates, bytes
 * after the 220 to STARTTLS, a Mail with attachments and non-ASCII headers
 * delivered byte for byte, 20 pipelined sends on one client, and 20 sends
 * through an SmtpPool of two connections.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type Mail,
  sendmail,
  SmtpClient,
  SmtpError,
  SmtpPool,
} from "../../mod.ts";
import { composeMessage } from "../../mime.ts";
import { startTestServer, type TestServerOptions } from "../../testing.ts";
import { type Leaf, testCerts } from "../transport/_certs.ts";
import { aiosmtpdMissing, startAiosmtpd } from "./_aiosmtpd.ts";
import { register, type RuntimeCase } from "./_register.ts";

const certs = await testCerts();
const noAiosmtpd = await aiosmtpdMissing();
const required = (globalThis as { process?: { env?: Record<string, string> } })
  .process?.env?.SENDMAIL_INTEROP === "required";

/**
 * src/sasl and src/mime call `Uint8Array.prototype.toBase64` directly
 * until they move to protocol/_base64.ts; before Node 25 it is missing.
 */
const BASE64_PENDING =
  typeof (Uint8Array.prototype as { toBase64?: unknown }).toBase64 ===
      "function"
    ? undefined
    : "src/sasl and src/mime still call Uint8Array.prototype.toBase64, which this runtime lacks; remove once they use protocol/_base64.ts";

const auth = { username: "app", password: "s3cret" };

/** Starts the capture server with one of the fixture certificates. */
function captureServer(
  leaf: Leaf,
  options: TestServerOptions = {},
): ReturnType<typeof startTestServer> {
  return startTestServer({
    ...options,
    cert: leaf.cert,
    key: leaf.key,
    caCert: certs.caCert,
  });
}

/** Asserts that `sending` fails with an SmtpError of `kind`. */
async function failsWith(
  sending: Promise<unknown>,
  kinds: string[],
): Promise<SmtpError> {
  let caught: unknown;
  try {
    await sending;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof SmtpError, `expected an SmtpError: ${caught}`);
  assert.ok(
    kinds.includes(caught.kind),
    `expected kind ${kinds.join(" or ")}: ${caught.kind}: ${caught.message}`,
  );
  return caught;
}

const decoder = new TextDecoder();

/** Reads a stream to its end. */
async function bytesOf(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The message with its MIME boundaries replaced by placeholders. */
function unbound(bytes: Uint8Array): string {
  const text = decoder.decode(bytes);
  const boundaries = [...text.matchAll(/boundary="?([^";\r\n]+)"?/g)].map((
    m,
  ) => m[1]!);
  let out = text;
  boundaries.forEach((boundary, i) => {
    out = out.split(boundary).join(`BOUNDARY-${i}`);
  });
  return out;
}

const binary = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7) % 256);

function rich(): Mail {
  return {
    from: { name: "Zoë Müller", address: "zoe@example.com" },
    to: [{ name: "José Ñúñez", address: "jose@example.org" }],
    subject: "Grüße aus Köln – 日本語の件名",
    text: "Hallo José,\r\nanbei die Unterlagen. Ça va ?\r\n",
    html: "<p>Hallo <b>José</b>, anbei die Unterlagen.</p>",
    date: new Date("2025-01-02T03:04:05Z"),
    messageId: "<runtime-e2e@example.com>",
    attachments: [
      { filename: "résumé.txt", content: "Zeile 1\nZeile 2 – ü\n" },
      {
        filename: "data.bin",
        content: binary,
        contentType: "application/octet-stream",
      },
    ],
  };
}

const simple = (i: number): Mail => ({
  from: "app@example.com",
  to: "user@example.com",
  subject: `Message ${i}`,
  text: `Body ${i}`,
});

const cases: RuntimeCase[] = [];
const add = (
  name: string,
  fn: () => Promise<void>,
  options: { aiosmtpd?: boolean; base64?: boolean } = {},
) => {
  const ignore = options.aiosmtpd && noAiosmtpd && !required
    ? noAiosmtpd
    : undefined;
  const todo = options.base64 ? BASE64_PENDING : undefined;
  cases.push({
    name,
    fn,
    ...(ignore ? { ignore } : {}),
    ...(todo ? { todo } : {}),
  });
};

add(
  "sendmail delivers over STARTTLS with AUTH to the capture server",
  async () => {
    const server = await captureServer(certs.good, {
      auth: { users: { [auth.username]: auth.password } },
    });
    try {
      const result = await sendmail(
        { ...server.clientOptions, hostname: "localhost", auth },
        simple(1),
      );
      assert.equal(result.secure, true);
      const message = await server.nextMessage();
      assert.equal(message.authUser, "app");
      assert.equal(message.secure, true);
      assert.deepEqual(message.envelope.to, ["user@example.com"]);
    } finally {
      await server.close();
    }
  },
  { base64: true },
);

add("sendmail delivers over STARTTLS with AUTH to aiosmtpd", async () => {
  const server = await startAiosmtpd({ leaf: certs.good, auth: [auth] });
  try {
    await sendmail({
      hostname: "localhost",
      port: server.port,
      tls: "starttls",
      caCerts: [certs.caCert],
      auth,
    }, simple(2));
    const [message] = await server.messages();
    assert.ok(message, "aiosmtpd received no message");
    assert.equal(message.auth?.login, "app");
    assert.ok(message.tls, "the session was not encrypted");
    assert.deepEqual(message.rcptTo, ["user@example.com"]);
  } finally {
    await server.close();
  }
}, { aiosmtpd: true, base64: true });

add("sendmail delivers with implicit TLS to the capture server", async () => {
  const server = await captureServer(certs.good, { tls: "implicit" });
  try {
    const result = await sendmail(
      { ...server.clientOptions, hostname: "localhost" },
      simple(3),
    );
    assert.equal(result.secure, true);
    const message = await server.nextMessage();
    assert.equal(message.secure, true);
  } finally {
    await server.close();
  }
});

add("sendmail delivers with implicit TLS to aiosmtpd", async () => {
  const server = await startAiosmtpd({ leaf: certs.good, implicitTls: true });
  try {
    await sendmail({
      hostname: "localhost",
      port: server.port,
      tls: "implicit",
      caCerts: [certs.caCert],
    }, simple(4));
    const [message] = await server.messages();
    assert.ok(message?.tls, "no message over TLS");
  } finally {
    await server.close();
  }
}, { aiosmtpd: true });

for (
  const [what, leaf] of [
    ["a certificate for another name", certs.wrongName],
    ["a certificate of an unknown CA", certs.unknownCa],
  ] as const
) {
  add(
    `sendmail refuses ${what} from the capture server (kind "tls")`,
    async () => {
      for (const tls of ["starttls", "implicit"] as const) {
        const server = await captureServer(leaf, { tls });
        try {
          await failsWith(
            sendmail(
              { ...server.clientOptions, hostname: "localhost" },
              simple(5),
            ),
            ["tls"],
          );
          assert.equal(server.messages.length, 0);
        } finally {
          await server.close();
        }
      }
    },
  );
  add(`sendmail refuses ${what} from aiosmtpd (kind "tls")`, async () => {
    for (const implicitTls of [false, true]) {
      const server = await startAiosmtpd({ leaf, implicitTls });
      try {
        await failsWith(
          sendmail({
            hostname: "localhost",
            port: server.port,
            tls: implicitTls ? "implicit" : "starttls",
            caCerts: [certs.caCert],
          }, simple(6)),
          ["tls"],
        );
        assert.deepEqual(await server.messages(), []);
      } finally {
        await server.close();
      }
    }
  }, { aiosmtpd: true });
}

add(
  "sendmail refuses bytes the server sends after its 220 to STARTTLS",
  async () => {
    const server = await captureServer(certs.good, {
      hooks: {
        STARTTLS: () => ({
          reply: "220 2.0.0 Ready",
          extra: "250-injected\r\n250 AUTH PLAIN\r\n",
        }),
      },
    });
    try {
      await failsWith(
        sendmail({ ...server.clientOptions, hostname: "localhost" }, simple(7)),
        ["protocol", "tls"],
      );
      assert.equal(server.messages.length, 0);
      // Nothing but the greeting's answer and STARTTLS went out in plaintext.
      const verbs = server.transcripts[0]!.filter((line) =>
        line.type === "client"
      )
        .map((line) => line.text.split(" ")[0]);
      assert.ok(!verbs.includes("MAIL"), `the client went on: ${verbs}`);
    } finally {
      await server.close();
    }
  },
);

add(
  "sendmail delivers a Mail with attachments and non-ASCII headers byte for byte",
  async () => {
    const expected = unbound(await bytesOf(composeMessage(rich()).readable));
    const capture = await captureServer(certs.good);
    try {
      await sendmail(
        { ...capture.clientOptions, hostname: "localhost" },
        rich(),
      );
      const message = await capture.nextMessage();
      assert.equal(unbound(message.raw), expected);
    } finally {
      await capture.close();
    }
    if (noAiosmtpd && !required) return;
    const server = await startAiosmtpd({ leaf: certs.good });
    try {
      await sendmail({
        hostname: "localhost",
        port: server.port,
        tls: "starttls",
        caCerts: [certs.caCert],
      }, rich());
      const [message] = await server.messages();
      assert.ok(message, "aiosmtpd received no message");
      assert.equal(unbound(message.data), expected);
    } finally {
      await server.close();
    }
  },
  { base64: true },
);

add("SmtpClient pipelines 20 sends on one connection", async () => {
  const capture = await captureServer(certs.good);
  try {
    const client = await SmtpClient.connect({
      ...capture.clientOptions,
      hostname: "localhost",
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => client.send(simple(i))),
      );
      assert.equal(results.length, 20);
    } finally {
      await client.quit();
    }
    assert.equal(capture.transcripts.length, 1);
    assert.deepEqual(
      capture.messages.map((m) =>
        /^Subject: (.*)$/m.exec(decoder.decode(m.raw))?.[1]?.trim()
      ),
      Array.from({ length: 20 }, (_, i) => `Message ${i}`),
    );
  } finally {
    await capture.close();
  }
  if (noAiosmtpd && !required) return;
  const server = await startAiosmtpd({ leaf: certs.good });
  try {
    const client = await SmtpClient.connect({
      hostname: "localhost",
      port: server.port,
      tls: "starttls",
      caCerts: [certs.caCert],
    });
    try {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => client.send(simple(i))),
      );
    } finally {
      await client.quit();
    }
    assert.equal((await server.messages()).length, 20);
  } finally {
    await server.close();
  }
});

add(
  "SmtpPool spreads 20 sends over 2 connections and closes them with QUIT",
  async () => {
    const capture = await captureServer(certs.good);
    try {
      const pool = new SmtpPool({
        ...capture.clientOptions,
        hostname: "localhost",
        maxConnections: 2,
      });
      try {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => pool.send(simple(i))),
        );
        assert.equal(results.length, 20);
      } finally {
        await pool.close();
      }
      assert.equal(capture.transcripts.length, 2);
      for (const transcript of capture.transcripts) {
        assert.ok(
          transcript.some((l) => l.type === "client" && l.text === "QUIT"),
        );
      }
      assert.deepEqual(
        capture.messages.map((m) =>
          /^Subject: (.*)$/m.exec(decoder.decode(m.raw))?.[1]?.trim()
        ).sort(),
        Array.from({ length: 20 }, (_, i) => `Message ${i}`).sort(),
      );
    } finally {
      await capture.close();
    }
  },
);

await register(cases);
