import assert from "node:assert/strict";
import {
  formatReceived,
  parseReceived,
  type ReceivedFieldInit,
} from "../../received.ts";
import { interop, PYTHON } from "../_harness/mod.ts";
import { Random } from "../_harness/random.ts";

const DATE = new Date("2026-03-02T10:00:05Z");

/**
 * Every line within 78 characters, "Received: " counted on the first, but
 * for a line holding one word longer than that (which cannot fold).
 */
function assertFolded(body: string): void {
  const lines = body.split("\r\n");
  lines.forEach((line, i) => {
    if (i > 0) assert.ok(line.startsWith("\t"), JSON.stringify(line));
    const width = (i === 0 ? "Received: ".length : 0) + line.length;
    const oneWord = !line.trim().includes(" ");
    assert.ok(
      width <= 78 || oneWord,
      `line ${i + 1} is ${width} wide: ${line}`,
    );
  });
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(body.replaceAll("\r\n\t", ""), /[\x00-\x1f\x7f]/);
}

/** What a parse of the output must give: the input, with raw. */
function roundTrip(fields: ReceivedFieldInit): void {
  const body = formatReceived(fields);
  assertFolded(body);
  assert.deepEqual(parseReceived(body), { raw: body, ...fields }, body);
}

Deno.test("formatReceived writes a Postfix-like field, folded before by", () => {
  assert.equal(
    formatReceived({
      from: {
        helo: "client.example",
        name: "host.example.org",
        ip: "192.0.2.7",
      },
      by: { name: "mx.example.net" },
      with: "ESMTP",
      id: "4F1B2C3D",
      for: ["ada@example.net"],
      date: DATE,
    }),
    "from client.example (host.example.org [192.0.2.7])\r\n" +
      "\tby mx.example.net with ESMTP id 4F1B2C3D for <ada@example.net>;\r\n" +
      "\tMon, 2 Mar 2026 10:00:05 +0000",
  );
});

Deno.test("formatReceived writes sendmail's submission stamp for a local user", () => {
  assert.equal(
    formatReceived({
      from: { user: "alice@localhost" },
      by: { name: "host.example" },
      id: "5F3A",
      date: DATE,
    }),
    "(from alice@localhost)\r\n" +
      "\tby host.example id 5F3A; Mon, 2 Mar 2026 10:00:05 +0000",
  );
});

Deno.test("formatReceived output parses back to the same fields", () => {
  const cases: ReceivedFieldInit[] = [
    {
      from: {
        helo: "client.example",
        name: "host.example.org",
        ip: "192.0.2.7",
      },
      by: { name: "mx.example.net" },
      with: "ESMTPS",
      id: "4F1B2C3D",
      for: ["ada@example.net"],
      tls: { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384" },
      date: DATE,
    },
    {
      from: { helo: "[2001:db8::7]", ip: "2001:db8::7" },
      by: { name: "mx.example.net", ip: "2001:db8::25" },
      with: "ESMTPSA",
      tls: { version: "TLSv1.2" },
      date: DATE,
    },
    {
      from: { helo: "client.example", ip: "192.0.2.7" },
      by: { ip: "192.0.2.25" },
      with: "SMTP",
      date: DATE,
    },
    { from: { ip: "192.0.2.7" }, by: { name: "mx.example" }, date: DATE },
    {
      from: { ip: "192.0.2.7", name: "rdns.example" },
      by: { name: "mx.example" },
      date: DATE,
    },
    { from: { name: "rdns.example" }, by: { name: "mx.example" }, date: DATE },
    {
      from: { helo: "client.example" },
      by: { name: "mx.example" },
      date: DATE,
    },
    {
      from: { helo: "client.example", ip: "192.0.2.7", user: "1000" },
      by: { name: "mx.example" },
      with: "ESMTPA",
      date: DATE,
    },
    {
      from: { user: "alice@localhost" },
      by: { name: "h.example" },
      date: DATE,
    },
    {
      by: { name: "mx.example" },
      via: "Frontend Transport",
      with: "Microsoft SMTP Server",
      id: "15.20.1.2",
      date: DATE,
    },
    {
      by: { name: "lmtp.example" },
      with: "LMTP",
      id: "msg@id.example",
      for: [
        "ada@example.net",
        "grace.hopper@very-long-domain-name.example.org",
        '"john doe"@example.com',
        "zoë@bücher.example",
      ],
      date: DATE,
    },
    {
      from: { helo: "c.example", ip: "192.0.2.1" },
      by: { name: "mx.example" },
      with: "ESMTPS",
      tls: {},
      date: DATE,
    },
    {
      from: { helo: "c.example", ip: "192.0.2.1" },
      by: { name: "mx.example" },
      tls: { cipher: "ECDHE-RSA-AES128-GCM-SHA256" },
      date: new Date("2026-03-02T10:00:05.250Z"),
    },
  ];
  for (const fields of cases) {
    // The date's milliseconds are not written.
    const expected = {
      ...fields,
      date: new Date(Math.floor(fields.date!.getTime() / 1000) * 1000),
    };
    const body = formatReceived(fields);
    assertFolded(body);
    assert.deepEqual(parseReceived(body), { raw: body, ...expected }, body);
  }
});

Deno.test("formatReceived output parses back for random fields, folded within 78", () => {
  const random = new Random(0x5eed);
  const label = () =>
    Array.from(
      { length: 1 + random.int(20) },
      () => random.pick([..."abcdefghijklmnopqrstuvwxyz0123456789"]),
    ).join("");
  const host = () =>
    Array.from({ length: 1 + random.int(4) }, label).join(".") + ".example";
  const ipv4 = () => Array.from({ length: 4 }, () => random.int(256)).join(".");
  const ipv6 = () =>
    "2001:db8:" +
    Array.from({ length: 6 }, () => random.int(65536).toString(16)).join(":");
  for (let i = 0; i < 2000; i++) {
    const fields: ReceivedFieldInit = {
      by: random.chance(0.9) ? { name: host() } : { ip: ipv4() },
      date: new Date(
        Date.UTC(
          1990 + random.int(60),
          random.int(12),
          1 + random.int(28),
          random.int(24),
          random.int(60),
          random.int(60),
        ),
      ),
    };
    if (random.chance(0.3) && fields.by!.name) {
      fields.by!.ip = random.chance(0.5) ? ipv4() : ipv6();
    }
    if (random.chance(0.8)) {
      const from: NonNullable<ReceivedFieldInit["from"]> = {};
      if (random.chance(0.8)) {
        from.helo = random.chance(0.1) ? `[${ipv4()}]` : host();
      }
      if (random.chance(0.6)) from.name = host();
      if (random.chance(0.8)) from.ip = random.chance(0.7) ? ipv4() : ipv6();
      // A literal HELO with no address reads back as the address.
      if (from.helo?.startsWith("[")) from.ip ??= ipv4();
      if (Object.keys(from).length === 0) from.user = `${label()}@localhost`;
      fields.from = from;
    }
    if (random.chance(0.7)) {
      fields.with = random.pick([
        "SMTP",
        "ESMTP",
        "ESMTPS",
        "ESMTPSA",
        "LMTP",
        "esmtpsa",
        "HTTP",
      ]);
    }
    if (random.chance(0.7)) fields.id = label().toUpperCase();
    if (random.chance(0.5)) {
      fields.for = Array.from(
        { length: 1 + random.int(4) },
        () => `${label()}@${host()}`,
      );
    }
    const tlsProtocol = /^(?:ESMTPS|ESMTPSA|esmtpsa)$/.test(fields.with ?? "");
    if (tlsProtocol || random.chance(0.2)) {
      const tls: NonNullable<ReceivedFieldInit["tls"]> = {};
      if (random.chance(0.6)) {
        tls.version = random.pick(["TLSv1.2", "TLSv1.3"]);
      }
      if (random.chance(0.6)) {
        tls.cipher = random.pick([
          "TLS_AES_256_GCM_SHA384",
          "ECDHE-RSA-AES256-GCM-SHA384",
        ]);
      }
      // Without a TLS protocol, only details say TLS was used.
      if (!tlsProtocol && tls.version === undefined) tls.version = "TLSv1.3";
      fields.tls = tls;
    }
    roundTrip(fields);
  }
});

Deno.test("formatReceived refuses CR, LF and other control characters in every value", () => {
  const base: ReceivedFieldInit = {
    from: { helo: "c.example", name: "r.example", ip: "192.0.2.1" },
    by: { name: "mx.example" },
    via: "TCP",
    with: "ESMTP",
    id: "ABC",
    for: ["a@example.net"],
    tls: { version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256" },
    date: DATE,
  };
  const paths = [
    ["from", "helo"],
    ["from", "name"],
    ["from", "ip"],
    ["from", "user"],
    ["by", "name"],
    ["by", "ip"],
    ["via"],
    ["with"],
    ["id"],
    ["for", 0],
    ["tls", "version"],
    ["tls", "cipher"],
  ] as const;
  for (const path of paths) {
    for (
      const bad of ["\r", "\n", "\r\n", "\t", "\0", "\x1b", "\x7f", "\x85"]
    ) {
      const fields = structuredClone(base) as Record<string, unknown>;
      let target = fields as Record<string | number, unknown>;
      for (const key of path.slice(0, -1)) {
        target = target[key] as Record<string | number, unknown>;
      }
      const key = path.at(-1)!;
      target[key] = `x${bad}y`;
      assert.throws(
        () => formatReceived(fields as ReceivedFieldInit),
        TypeError,
        `${path.join(".")} with ${JSON.stringify(bad)}`,
      );
    }
  }
});

Deno.test("formatReceived refuses values that do not fit their place", () => {
  const by = { name: "mx.example" };
  const bad: [string, ReceivedFieldInit][] = [
    ["no by", { date: DATE }],
    ["empty by", { by: {}, date: DATE }],
    ["by name with a space", { by: { name: "mx example" } }],
    ["by name that is an address", { by: { name: "192.0.2.1" } }],
    ["an ip that is not one", { by, from: { ip: "192.0.2.256" } }],
    ["an ip with brackets", { by, from: { ip: "[192.0.2.1]" } }],
    ["a helo with a parenthesis", { by, from: { helo: "a(b" } }],
    ["a bare address as helo", { by, from: { helo: "192.0.2.1" } }],
    ["a keyword as helo", { by, from: { helo: "by" } }],
    ["an empty id", { by, id: "" }],
    ["an id with a space", { by, id: "a b" }],
    ["a with holding a ;", { by, with: "ESMTP;" }],
    ["a with holding a keyword", { by, with: "ESMTP id" }],
    ["a via with two spaces", { by, via: "a  b" }],
    ["an address with >", { by, for: ["a>@b"] }],
    ["for that is not a list", { by, for: "a@b" as unknown as string[] }],
    ["a number as helo", { by, from: { helo: 1 as unknown as string } }],
    ["an invalid date", { by, date: new Date(NaN) }],
    ["a date that is no Date", { by, date: "2026-03-02" as unknown as Date }],
  ];
  for (const [why, fields] of bad) {
    assert.throws(() => formatReceived(fields), TypeError, why);
  }
  assert.throws(
    () => formatReceived({ by, date: new Date("1850-01-01T00:00:00Z") }),
    RangeError,
  );
  assert.throws(
    () => formatReceived({ by, id: "x".repeat(1000), date: DATE }),
    RangeError,
  );
  assert.throws(
    () => formatReceived(null as unknown as ReceivedFieldInit),
    TypeError,
  );
});

Deno.test("formatReceived dates the field now when no date is given", () => {
  const before = Math.floor(Date.now() / 1000) * 1000;
  const field = parseReceived(formatReceived({ by: { name: "mx.example" } }));
  const after = Date.now();
  assert.ok(field.date !== undefined);
  assert.ok(field.date.getTime() >= before && field.date.getTime() <= after);
});

Deno.test(interop({
  name:
    "formatReceived writes dates Python's email.utils.parsedate_to_datetime reads back",
  requires: ["python3"],
  async fn() {
    const random = new Random(7);
    const dates = Array.from({ length: 200 }, () =>
      new Date(
        Date.UTC(
          1900 + random.int(8100),
          random.int(12),
          1 + random.int(28),
          random.int(24),
          random.int(60),
          random.int(60),
        ),
      ));
    dates.push(
      new Date("2026-02-28T23:59:59Z"),
      new Date("2024-02-29T00:00:00Z"),
    );
    const bodies = dates.map((date) =>
      formatReceived({ by: { name: "mx.example" }, date })
    );
    const script = [
      "import json, sys",
      "from email.utils import parsedate_to_datetime",
      "out = []",
      "for body in json.load(sys.stdin):",
      "    text = body.replace('\\r\\n\\t', ' ').rsplit(';', 1)[1]",
      "    out.append(parsedate_to_datetime(text.strip()).timestamp())",
      "print(json.dumps(out))",
    ].join("\n");
    const child = new Deno.Command(PYTHON, {
      args: ["-c", script],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(bodies)));
    await writer.close();
    const { code, stdout, stderr } = await child.output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const seconds: number[] = JSON.parse(new TextDecoder().decode(stdout));
    assert.deepEqual(seconds, dates.map((d) => d.getTime() / 1000));
  },
}));
