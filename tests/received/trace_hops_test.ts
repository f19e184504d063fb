import assert from "node:assert/strict";
import { type Hop, traceHops } from "../../received.ts";
import { Random, randomChunks, splitsInTwo } from "../_harness/random.ts";
import { fixtureMessage } from "./_corpus.ts";

/** What a test checks of a hop, in one line. */
function summary(hop: Hop) {
  return {
    index: hop.index,
    by: hop.field.by?.name ?? hop.field.by?.ip,
    link: hop.link,
    delayMs: hop.delayMs,
    elapsedMs: hop.elapsedMs,
    clockSkew: hop.clockSkew,
  };
}

type Summary = ReturnType<typeof summary>;

function row(
  index: number,
  by: string,
  link: Hop["link"],
  delayMs?: number,
  elapsedMs?: number,
  clockSkew = false,
): Summary {
  return { index, by, link, delayMs, elapsedMs, clockSkew };
}

// Expected paths, worked out by hand from each fixture's fields.
const PATHS: Record<string, Summary[]> = {
  // sendmail → OpenSMTPD → Postfix → zmailer → list expansion → Postfix → Postfix.
  "aixigo_git.eml": [
    row(1, "mailhost.ac.aixigo.de", "first"),
    row(2, "mail.aixigo.de", "linked", 1000, 1000),
    row(3, "lindbergh.monkeyblade.net", "linked", 3000, 4000),
    row(4, "vger.kernel.org", "linked", 2000, 6000),
    // "(majordomo@vger.kernel.org) by vger.kernel.org": no from to compare.
    row(5, "vger.kernel.org", "unknown", 3000, 9000),
    // mail.kernel.org's clock is a second behind vger's.
    row(6, "mail.kernel.org", "linked", -1000, 8000, true),
    row(7, "smtp.lore.kernel.org", "linked", 0, 8000),
  ],
  // Exchange on premises → Exchange Online → Outlook.com → Postfix.
  "amd_exchange.eml": [
    row(1, "SATLEXMB04.amd.com", "first"),
    row(2, "MN1PEPF0000ECDB.mail.protection.outlook.com", "linked", 2000, 2000),
    // Microsoft's internal hops name the same machines differently.
    row(3, "BL6PEPF0001640F.outlook.office365.com", "broken", 0, 2000),
    row(4, "DS0PR12MB8765.namprd12.prod.outlook.com", "broken", 0, 2000),
    row(5, "gabe.freedesktop.org", "broken", 3000, 5000),
    // mailman on gabe, over loopback.
    row(6, "gabe.freedesktop.org", "linked", 2000, 7000),
    row(7, "mail.lfdr.de", "linked", 1000, 8000),
  ],
  // Exim → Exim → Exim → mailman → Exim → Postfix.
  "xen_exim.eml": [
    row(1, "xenbits.xenproject.org", "first"),
    row(2, "mail.xenproject.org", "linked", 0, 0),
    row(3, "lists.xenproject.org", "linked", 1000, 1000),
    row(4, "outflank-mailman", "unknown", 0, 1000),
    row(5, "lists.xenproject.org", "broken", 1000, 2000),
    row(6, "outflank-mailman", "unknown", 0, 2000),
    row(7, "lists.xenproject.org", "unknown", 0, 2000),
    row(8, "mail.lfdr.de", "linked", 23000, 25000),
  ],
  // Written here: two Postfix instances, the second hop over STARTTLS.
  "postfix_chain.eml": [
    row(1, "first.test", "first"),
    row(2, "second.test", "linked", 1000, 1000),
  ],
  // Gmail's front end, Gmail's outbound relay, then Postfix.
  "gmail_kvack.eml": [
    row(1, "mx.google.com", "first"),
    row(2, "mail-ot1-f70.google.com", "unknown", 1000, 1000),
    row(3, "kanga.kvack.org", "linked", 0, 1000),
  ],
};

for (const [name, expected] of Object.entries(PATHS)) {
  Deno.test(`traceHops follows the path of ${name}, oldest hop first`, () => {
    const hops = traceHops(fixtureMessage(name));
    assert.deepEqual(hops.map(summary), expected);
  });
}

Deno.test("traceHops gives the same hops for text, bytes, a stream, a Blob and a list", async () => {
  const text = fixtureMessage("aixigo_git.eml");
  const bytes = new TextEncoder().encode(text);
  const fromText = traceHops(text);
  assert.deepEqual(traceHops(bytes), fromText);
  assert.deepEqual(await traceHops(new Blob([bytes])), fromText);
  const random = new Random(11);
  for (let i = 0; i < 20; i++) {
    const stream = ReadableStream.from(randomChunks(random, bytes));
    assert.deepEqual(await traceHops(stream), fromText);
  }
  const values = fromText.map((hop) => hop.field.raw).reverse();
  assert.deepEqual(traceHops(values), fromText);
  // Whole lines are taken too.
  assert.deepEqual(traceHops(values.map((v) => `Received:${v}`)), fromText);
});

Deno.test("traceHops reads a stream only up to the empty line, then cancels it", async () => {
  const head = new TextEncoder().encode(
    "Received: from a.example (a.example [192.0.2.1])\r\n" +
      "\tby b.example with ESMTP id 1; Mon, 2 Mar 2026 10:00:00 +0000\r\n" +
      "Subject: x\r\n\r\n",
  );
  for (
    const [before = new Uint8Array(), after = new Uint8Array()] of splitsInTwo(
      head,
    )
  ) {
    let pulls = 0;
    let cancelled = false;
    const chunks = [before, after, new TextEncoder().encode("body\r\n")];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks[pulls++];
        if (chunk === undefined) {
          throw new Error("the body was read");
        }
        controller.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    }, { highWaterMark: 0 });
    const hops = await traceHops(stream);
    assert.equal(hops.length, 1);
    assert.equal(hops[0]!.field.by?.name, "b.example");
    assert.equal(
      pulls,
      before.length === head.length ? 1 : 2,
      `split at ${before.length}`,
    );
    assert.ok(cancelled);
  }
});

Deno.test("traceHops rejects a stream that gives something other than bytes", async () => {
  const stream = ReadableStream.from(["Received: by x; y\r\n\r\n"]);
  await assert.rejects(
    traceHops(stream as unknown as ReadableStream<Uint8Array>),
    TypeError,
  );
});

Deno.test("traceHops finds Received fields however the header is written", () => {
  const field = "by mx.example with SMTP id 1; Mon, 2 Mar 2026 10:00:00 +0000";
  for (
    const message of [
      `Received: ${field}\r\n\r\nReceived: from body.example by body; x\r\n`,
      `Received: ${field}\n\nbody`,
      `From sender@example.net Mon Mar  2 10:00:00 2026\nReceived: ${field}\n\n`,
      `received:${field}\r\nSubject: x\r\n`,
      `RECEIVED : ${field}\r\n\r\n`,
      `X-Other: 1\r\nReceived: ${field}`,
    ]
  ) {
    const hops = traceHops(message);
    assert.equal(hops.length, 1, JSON.stringify(message));
    assert.equal(hops[0]!.field.id, "1");
  }
  // Folding is kept in raw, the final line break is not.
  const folded = traceHops(
    "Received: from a.example\r\n\tby b.example; Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\n",
  );
  assert.equal(
    folded[0]!.field.raw,
    " from a.example\r\n\tby b.example; Mon, 2 Mar 2026 10:00:00 +0000",
  );
  assert.deepEqual(traceHops("Subject: no trace\r\n\r\nReceived: x\r\n"), []);
  assert.deepEqual(traceHops("\r\nReceived: by body; x\r\n"), []);
  assert.deepEqual(traceHops(""), []);
  assert.deepEqual(traceHops([]), []);
});

Deno.test("traceHops links a hop to the one before by HELO, reverse DNS or address", () => {
  const date = (s: number) => `Mon, 2 Mar 2026 10:00:0${s} +0000`;
  const path = (...fields: string[]) =>
    traceHops(fields.reverse()).map((hop) => hop.link);
  assert.deepEqual(
    path(
      `from c.example (c.example [192.0.2.1]) by relay.example.net; ${date(0)}`,
      // the HELO name
      `from relay.example.net (other.example [192.0.2.9]) by mx1.example; ${
        date(1)
      }`,
      // the reverse-DNS name, in another case, with a root dot
      `from helo.example (MX1.EXAMPLE. [192.0.2.2]) by mx2.example (192.0.2.3); ${
        date(2)
      }`,
      // the address
      `from weird.example (unknown [192.0.2.3]) by mailhost; ${date(3)}`,
      // a short name for a long one
      `from mailhost.corp.example (x.example [192.0.2.4]) by mx3.example; ${
        date(4)
      }`,
      // over loopback within the same host
      `from localhost (localhost [127.0.0.1]) by mx3.example; ${date(5)}`,
      // a host that is not the previous one
      `from elsewhere.example (elsewhere.example [198.51.100.1]) by mx4.example; ${
        date(6)
      }`,
      // no from at all
      `by mx5.example with LMTP; ${date(7)}`,
      // a local user
      `(from alice@localhost) by mx5.example; ${date(8)}`,
    ),
    [
      "first",
      "linked",
      "linked",
      "linked",
      "linked",
      "linked",
      "broken",
      "unknown",
      "unknown",
    ],
  );
  // Loopback into a different host than the previous one is a break.
  assert.deepEqual(
    path(
      `from a.example (a.example [192.0.2.1]) by b.example; ${date(0)}`,
      `from localhost (localhost [127.0.0.1]) by c.example; ${date(1)}`,
    ),
    ["first", "broken"],
  );
});

Deno.test("traceHops measures delays between dated hops and flags clock skew", () => {
  const hops = traceHops([
    "by e.example; Mon, 2 Mar 2026 10:01:00 +0000",
    "by d.example; Mon, 2 Mar 2026 09:59:00 +0000",
    "by c.example; no date here",
    "by b.example; Mon, 2 Mar 2026 10:00:30.250 +0000",
    "by a.example; Mon, 2 Mar 2026 11:00:00 +0100",
  ]);
  assert.deepEqual(hops.map(summary), [
    row(1, "a.example", "first"),
    row(2, "b.example", "unknown", 30_250, 30_250),
    row(3, "c.example", "unknown"),
    row(4, "d.example", "unknown", undefined, -60_000),
    row(5, "e.example", "unknown", 120_000, 60_000),
  ]);
  const skewed = traceHops([
    "by b.example; Mon, 2 Mar 2026 10:00:00 +0000",
    "by a.example; Mon, 2 Mar 2026 10:00:01 +0000",
  ]);
  assert.equal(skewed[1]!.delayMs, -1000);
  assert.equal(skewed[1]!.clockSkew, true);
});

Deno.test("traceHops refuses what is not a message", () => {
  for (const bad of [42, null, undefined, {}, new ArrayBuffer(1)]) {
    assert.throws(() => traceHops(bad as unknown as string), TypeError);
  }
  assert.throws(() => traceHops([1 as unknown as string]), TypeError);
});
