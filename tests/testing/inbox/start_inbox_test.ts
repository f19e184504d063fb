// startInbox over HTTP: the page and its policies, the JSON API (list,
// search, details, raw, parts, html, hops, wait, delete), the event stream,
// fault injection, the bound on messages, and the guards of a local web
// tool. Mail is sent with our own client to the inbox's capture server.

import assert from "node:assert/strict";
import { type Mail, sendmail, SmtpError } from "../../../mod.ts";
import { signMessage } from "../../../dkim.ts";
import { type Inbox, startInbox } from "../../../testing.ts";
import { ed25519Key } from "../../dkim/_keys.ts";

const decoder = new TextDecoder();

/** An inbox on free ports; DKIM keys answered from `records`. */
function inbox(
  options: Parameters<typeof startInbox>[0] = {},
  records: Record<string, string> = {},
): Promise<Inbox> {
  return startInbox({
    port: 0,
    resolveTxt: (name) =>
      Promise.resolve(records[name] ? [records[name]!] : []),
    ...options,
    smtp: { port: 0, ...options.smtp },
  });
}

function send(box: Inbox, mail: Partial<Mail>) {
  return sendmail(box.smtp.clientOptions, {
    from: "App <app@example.com>",
    to: "ada@example.org",
    subject: "Hello",
    text: "Hi",
    ...mail,
  });
}

async function get(box: Inbox, path: string, init?: RequestInit) {
  const response = await fetch(new URL(path, box.url), init);
  return response;
}

async function json(box: Inbox, path: string, init?: RequestInit) {
  const response = await get(box, path, init);
  assert.match(
    response.headers.get("content-type") ?? "",
    /^application\/json/,
  );
  return { status: response.status, body: await response.json() };
}

Deno.test("startInbox serves its page under a policy that runs only its own script", async () => {
  await using box = await inbox();
  assert.match(box.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await get(box, "/");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type")!, /^text\/html/);
  const csp = page.headers.get("content-security-policy")!;
  for (
    const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ]
  ) {
    assert.ok(csp.split("; ").includes(directive), directive);
  }
  assert.doesNotMatch(csp, /script-src[^;]*unsafe/);
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  const html = await page.text();
  assert.match(html, /<script src="\/inbox\.js" defer><\/script>/);
  // No inline script: the policy would refuse it.
  assert.doesNotMatch(html, /<script>/);
  const script = await get(box, "/inbox.js");
  assert.match(script.headers.get("content-type")!, /^text\/javascript/);
  assert.match(await script.text(), /new EventSource\("\/api\/events"\)/);
  const css = await get(box, "/inbox.css");
  assert.match(css.headers.get("content-type")!, /^text\/css/);
  await css.body?.cancel();
  const missing = await json(box, "/nope");
  assert.equal(missing.status, 404);
});

Deno.test("GET /api/messages lists messages newest first, with addresses, subject and envelope", async () => {
  await using box = await inbox();
  await send(box, { subject: "First", to: "Ada <ada@example.org>" });
  await send(box, {
    subject: "Second ☕",
    to: ["bob@example.org"],
    cc: "Carol <carol@example.org>",
    bcc: "hidden@example.org",
  });
  const { body } = await json(box, "/api/messages");
  assert.equal(body.total, 2);
  assert.equal(body.count, 2);
  assert.deepEqual(body.messages.map((m: { id: string }) => m.id), ["2", "1"]);
  const [second, first] = body.messages;
  assert.equal(second.subject, "Second ☕");
  assert.deepEqual(second.to, [{ address: "bob@example.org" }]);
  assert.deepEqual(second.cc, [{
    name: "Carol",
    address: "carol@example.org",
  }]);
  assert.deepEqual(second.envelope, {
    from: "app@example.com",
    to: ["bob@example.org", "carol@example.org", "hidden@example.org"],
  });
  assert.deepEqual(first.from, [{ name: "App", address: "app@example.com" }]);
  assert.deepEqual(first.to, [{ name: "Ada", address: "ada@example.org" }]);
  assert.equal(first.secure, true);
  assert.equal(first.size, box.smtp.messages[0]!.raw.length);
  assert.ok(Date.parse(first.receivedAt) > 0);
  const limited = await json(box, "/api/messages?limit=1");
  assert.deepEqual(limited.body.messages.map((m: { id: string }) => m.id), [
    "2",
  ]);
});

Deno.test("GET /api/messages searches by address (header or envelope) and subject", async () => {
  await using box = await inbox();
  await send(box, { subject: "Invoice 7", to: "ada@example.org" });
  await send(box, { subject: "Welcome", to: "Bob Stone <bob@example.org>" });
  await send(box, {
    subject: "Digest",
    to: "x@example.org",
    bcc: "ada@example.org",
  });
  const ids = async (query: string) =>
    (await json(box, `/api/messages?${query}`)).body.messages.map((m: {
      id: string;
    }) => m.id);
  assert.deepEqual(await ids("to=ada@"), ["3", "1"]); // the Bcc is in the envelope
  assert.deepEqual(await ids("q=stone"), ["2"]); // a display name
  assert.deepEqual(await ids("q=WELCOME"), ["2"]);
  assert.deepEqual(await ids("subject=invoice"), ["1"]);
  assert.deepEqual(await ids("from=app@example.com&subject=digest"), ["3"]);
  assert.deepEqual(await ids("from=nobody"), []);
});

Deno.test("GET /api/messages/:id gives headers, bodies, parts, files, transcript, hops and DKIM", async () => {
  const key = await ed25519Key();
  await using box = await inbox({}, {
    "ed._domainkey.example.com": key.record,
  });
  await sendmail({
    ...box.smtp.clientOptions,
    dkim: { domainName: "example.com", keySelector: "ed", privateKey: key.pem },
  }, {
    from: "App <app@example.com>",
    to: "ada@example.org",
    subject: "Report",
    text: "Plain body",
    html: '<p>Logo <img src="cid:logo@app"></p>',
    attachments: [
      {
        filename: "logo.png",
        content: new Uint8Array([1, 2, 3]),
        contentId: "logo@app",
      },
      { filename: "report.csv", content: "a,b\n1,2\n" },
    ],
  });
  const { status, body } = await json(box, "/api/messages/1");
  assert.equal(status, 200);
  assert.equal(body.subject, "Report");
  assert.equal(body.text, "Plain body");
  assert.equal(body.html, true);
  assert.equal(body.remoteResources, 0);
  assert.ok(
    body.headers.some((h: { name: string }) => h.name === "DKIM-Signature"),
  );
  assert.equal(body.headers[0].name, "Received"); // the capture server's own
  assert.deepEqual(
    body.files.map((
      f: { filename: string; type: string; size: number; inline: boolean },
    ) => [
      f.filename,
      f.type,
      f.size,
      f.inline,
    ]),
    [["logo.png", "image/png", 3, true], ["report.csv", "text/csv", 8, false]],
  );
  assert.match(body.files[1].url, /^\/api\/messages\/1\/parts\/\d+$/);
  assert.match(body.parts.type, /^multipart\//);
  assert.ok(
    body.transcript.some((line: { text: string }) => line.text === "STARTTLS"),
  );
  assert.ok(
    body.transcript.some((line: { text: string }) =>
      line.text.startsWith("MAIL FROM:<app@example.com>")
    ),
  );
  assert.equal(body.hops.length, 1);
  assert.equal(body.hops[0].with, "ESMTPS");
  assert.equal(body.hops[0].tls, "TLSv1.3");
  assert.deepEqual(
    body.dkim.map((r: { result: string; domain: string; selector: string }) => [
      r.result,
      r.domain,
      r.selector,
    ]),
    [["pass", "example.com", "ed"]],
  );
  assert.equal(body.helo, "localhost");
  assert.equal(body.transfer, "BDAT");
  assert.equal((await json(box, "/api/messages/99")).status, 404);
});

Deno.test("GET /api/messages/:id reports a tampered DKIM signature as fail", async () => {
  const key = await ed25519Key();
  await using box = await inbox({}, {
    "ed._domainkey.example.com": key.record,
  });
  const message =
    "From: app@example.com\r\nTo: ada@example.org\r\nSubject: Sig\r\n\r\nSigned body\r\n";
  const signed = await new Response(signMessage(message, {
    domainName: "example.com",
    keySelector: "ed",
    privateKey: key.pem,
  })).text();
  await sendmail(box.smtp.clientOptions, {
    envelope: { from: "app@example.com", to: ["ada@example.org"] },
    raw: signed.replace("Signed body", "Changed body"),
  });
  const { body } = await json(box, "/api/messages/1");
  assert.deepEqual(
    body.dkim.map((
      r: { result: string; reason: string },
    ) => [r.result, r.reason]),
    [["fail", "body hash did not verify"]],
  );
});

Deno.test("GET /api/messages/:id/raw returns the bytes as received, as text or to download", async () => {
  await using box = await inbox();
  await send(box, { subject: "Raw", text: "line one\nline two" });
  const raw = await get(box, "/api/messages/1/raw");
  assert.match(raw.headers.get("content-type")!, /^text\/plain/);
  assert.equal(raw.headers.get("x-content-type-options"), "nosniff");
  assert.deepEqual(
    new Uint8Array(await raw.arrayBuffer()),
    box.smtp.messages[0]!.raw,
  );
  const download = await get(box, "/api/messages/1/raw?download=1");
  assert.equal(download.headers.get("content-type"), "message/rfc822");
  assert.equal(
    download.headers.get("content-disposition"),
    `attachment; filename="message-1.eml"; filename*=UTF-8''message-1.eml`,
  );
  await download.body?.cancel();
});

Deno.test("GET /api/messages/:id/parts/:n downloads a decoded part under a sandbox policy", async () => {
  await using box = await inbox();
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
  await send(box, {
    attachments: [
      { filename: "Résumé <script>.pdf", content: "pdf bytes" },
      { filename: "dot.png", content: png },
      { filename: "page.html", content: "<script>alert(1)</script>" },
    ],
  });
  const { body } = await json(box, "/api/messages/1");
  const [pdf, image, page] = body.files;
  const pdfResponse = await get(box, pdf.url);
  assert.equal(await pdfResponse.text(), "pdf bytes");
  assert.equal(pdfResponse.headers.get("content-type"), "application/pdf");
  assert.equal(
    pdfResponse.headers.get("content-disposition"),
    `attachment; filename="R_sum_ <script>.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%3Cscript%3E.pdf`,
  );
  assert.match(
    pdfResponse.headers.get("content-security-policy")!,
    /^sandbox;/,
  );
  const imageResponse = await get(box, `${image.url}?inline=1`);
  assert.deepEqual(new Uint8Array(await imageResponse.arrayBuffer()), png);
  assert.match(imageResponse.headers.get("content-disposition")!, /^inline;/);
  // An HTML attachment is never shown from the inbox's origin.
  const pageResponse = await get(box, `${page.url}?inline=1`);
  assert.match(
    pageResponse.headers.get("content-disposition")!,
    /^attachment;/,
  );
  assert.match(
    pageResponse.headers.get("content-security-policy")!,
    /^sandbox;/,
  );
  assert.equal(pageResponse.headers.get("x-content-type-options"), "nosniff");
  await pageResponse.body?.cancel();
  assert.equal((await json(box, "/api/messages/1/parts/999")).status, 404);
});

Deno.test("GET /api/messages/:id/html gives the body under a no-script policy, cid images inlined", async () => {
  await using box = await inbox();
  await send(box, {
    html: '<p>Hi <img src="https://tracker.example/p.gif" width=1>' +
      '<img src="cid:logo"><script>parent.alert(1)</script></p>' +
      '<div style="background: url(http://cdn.example/bg.png)">x</div>',
    attachments: [{
      filename: "logo.gif",
      content: "GIF89a",
      contentId: "logo",
    }],
  });
  const { body } = await json(box, "/api/messages/1");
  assert.equal(body.remoteResources, 2);
  const blocked = await get(box, "/api/messages/1/html");
  // Text, not a page of the inbox's origin.
  assert.match(blocked.headers.get("content-type")!, /^text\/plain/);
  assert.match(blocked.headers.get("content-security-policy")!, /^sandbox;/);
  const doc = await blocked.text();
  const policy = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/
    .exec(doc)![1]!;
  assert.ok(
    doc.indexOf(policy) < doc.indexOf("<p>Hi"),
    "the policy comes first",
  );
  assert.ok(policy.split("; ").includes("default-src 'none'"));
  assert.ok(policy.split("; ").includes("img-src data:"));
  assert.doesNotMatch(policy, /script-src/);
  assert.match(doc, /<img src="data:image\/gif;base64,R0lGODlh">/);
  const remote = await (await get(box, "/api/messages/1/html?remote=1")).text();
  const remotePolicy = /content="([^"]+)"/.exec(remote)![1]!;
  assert.ok(remotePolicy.split("; ").includes("img-src data: http: https:"));
  assert.doesNotMatch(remotePolicy, /script-src/);
  await send(box, { subject: "Text only" });
  assert.equal((await json(box, "/api/messages/2/html")).status, 404);
});

Deno.test("GET /api/messages/:id/hops.svg draws the Received path; 404 without one", async () => {
  await using box = await inbox();
  await send(box, {});
  const svg = await get(box, "/api/messages/1/hops.svg");
  assert.equal(svg.headers.get("content-type"), "image/svg+xml");
  assert.match(svg.headers.get("content-security-policy")!, /^sandbox;/);
  const text = await svg.text();
  assert.match(text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(text, /ESMTPS/);
  await using plain = await inbox({ smtp: { received: false } });
  await send(plain, {});
  assert.equal((await json(plain, "/api/messages/1/hops.svg")).status, 404);
});

Deno.test("GET /api/wait resolves when a matching message arrives, at once for one stored, 408 on timeout", async () => {
  await using box = await inbox();
  const waiting = json(box, "/api/wait?to=bob@example.org&timeout=10000");
  await send(box, { to: "ada@example.org", subject: "Not this one" });
  await send(box, { to: "bob@example.org", subject: "This one" });
  const { status, body } = await waiting;
  assert.equal(status, 200);
  assert.equal(body.subject, "This one");
  assert.equal(body.id, "2");
  // Already stored: at once. `after` skips those seen.
  assert.equal((await json(box, "/api/wait?to=ada@&timeout=0")).body.id, "1");
  const next = json(box, "/api/wait?subject=third&after=2&timeout=10000");
  await send(box, { subject: "The third" });
  assert.equal((await next).body.id, "3");
  const timeout = await json(box, "/api/wait?to=nobody@example.org&timeout=50");
  assert.equal(timeout.status, 408);
  assert.match(timeout.body.error, /No matching message in 50 ms/);
  assert.equal((await json(box, "/api/wait?timeout=-1")).status, 400);
  assert.equal((await json(box, "/api/wait?after=x")).status, 400);
});

/** Reads server-sent events from a response until `count` have come. */
async function readEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
  buffer: { text: string },
): Promise<{ event: string; data: unknown }[]> {
  const events: { event: string; data: unknown }[] = [];
  for (;;) {
    let end;
    while ((end = buffer.text.indexOf("\n\n")) >= 0) {
      const block = buffer.text.slice(0, end);
      buffer.text = buffer.text.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
      if (events.length === count) return events;
    }
    const { done, value } = await reader.read();
    if (done) return events;
    buffer.text += decoder.decode(value, { stream: true });
  }
}

Deno.test("GET /api/events streams each new message, deletions and fault changes", async () => {
  await using box = await inbox();
  const response = await get(box, "/api/events");
  assert.match(response.headers.get("content-type")!, /^text\/event-stream/);
  const reader = response.body!.getReader();
  const buffer = { text: "" };
  await send(box, { subject: "Live <b>one</b>" });
  const [first] = await readEvents(reader, 1, buffer);
  assert.equal(first!.event, "message");
  assert.deepEqual(
    [
      (first!.data as { id: string }).id,
      (first!.data as { subject: string }).subject,
    ],
    ["1", "Live <b>one</b>"],
  );
  assert.equal(
    (await get(box, "/api/messages/1", { method: "DELETE" })).status,
    204,
  );
  const [deleted] = await readEvents(reader, 1, buffer);
  assert.deepEqual(deleted, { event: "delete", data: { ids: ["1"] } });
  await json(box, "/api/faults", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ command: "MAIL", reply: "452 4.3.1 Full" }),
  });
  const [faults] = await readEvents(reader, 1, buffer);
  assert.equal(faults!.event, "faults");
  assert.deepEqual(
    (faults!.data as { command: string }[]).map((f) => f.command),
    ["MAIL"],
  );
  await reader.cancel();
});

Deno.test("DELETE /api/messages/:id and /api/messages remove messages from the inbox and from smtp.messages", async () => {
  await using box = await inbox();
  for (const subject of ["a", "b", "c"]) await send(box, { subject });
  assert.equal(
    (await get(box, "/api/messages/2", { method: "DELETE" })).status,
    204,
  );
  assert.deepEqual(
    (await json(box, "/api/messages")).body.messages.map((m: { id: string }) =>
      m.id
    ),
    ["3", "1"],
  );
  assert.equal(box.smtp.messages.length, 2);
  assert.equal((await json(box, "/api/messages/2")).status, 404);
  assert.equal(
    (await json(box, "/api/messages/2", { method: "DELETE" })).status,
    404,
  );
  assert.equal(
    (await get(box, "/api/messages", { method: "DELETE" })).status,
    204,
  );
  assert.equal((await json(box, "/api/messages")).body.total, 0);
  assert.equal(box.smtp.messages.length, 0);
  // New messages keep counting up.
  await send(box, { subject: "d" });
  assert.equal((await json(box, "/api/messages")).body.messages[0].id, "4");
});

Deno.test("startInbox keeps only the newest maxMessages messages", async () => {
  await using box = await inbox({ maxMessages: 3 });
  for (let i = 1; i <= 5; i++) await send(box, { subject: `m${i}` });
  const { body } = await json(box, "/api/messages");
  assert.equal(body.total, 3);
  assert.deepEqual(
    body.messages.map((m: { subject: string }) => m.subject),
    ["m5", "m4", "m3"],
  );
  assert.equal(box.smtp.messages.length, 3);
  assert.equal((await json(box, "/api/messages/1")).status, 404);
  assert.equal((await json(box, "/api/info")).body.maxMessages, 3);
});

async function addFault(box: Inbox, fault: Record<string, unknown>) {
  return await json(box, "/api/faults", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(fault),
  });
}

Deno.test("POST /api/faults refuses the next N messages at RCPT, each counted once, then mail flows", async () => {
  await using box = await inbox();
  const added = await addFault(box, {
    command: "RCPT",
    reply: "550 5.1.1 No such user here",
    count: 2,
  });
  assert.equal(added.status, 201);
  assert.deepEqual(added.body, {
    id: 1,
    command: "RCPT",
    reply: "550 5.1.1 No such user here",
    remaining: 2,
  });
  for (const to of [["a@example.org", "b@example.org"], ["c@example.org"]]) {
    const error = await send(box, { to }).then(() => undefined, (e) => e);
    assert.ok(error instanceof SmtpError, String(error));
    assert.equal(error.code, 550);
    assert.equal(error.enhancedCode, "5.1.1");
  }
  assert.deepEqual((await json(box, "/api/faults")).body, []);
  await send(box, { to: "d@example.org" });
  assert.deepEqual(
    box.smtp.messages.map((m) => m.envelope.to),
    [["d@example.org"]],
  );
  // Both recipients of the first message were refused, by the server.
  const refused = box.smtp.transcripts.flat().filter((l) =>
    l.type === "server" && l.text === "550 5.1.1 No such user here"
  );
  assert.equal(refused.length, 3);
});

Deno.test("POST /api/faults fails the end of data with a 4xx, and a 421 greeting drops the connection", async () => {
  await using box = await inbox();
  await addFault(box, {
    command: "DATA_END",
    reply: "451 4.3.0 Try again later",
  });
  const error = await send(box, {}).then(() => undefined, (e) => e);
  assert.ok(error instanceof SmtpError);
  assert.equal(error.code, 451);
  assert.equal(error.temporary, true);
  assert.equal(box.smtp.messages.length, 0);
  await addFault(box, { command: "connect", reply: "421 4.3.2 Going down" });
  const dropped = await send(box, {}).then(() => undefined, (e) => e);
  assert.ok(dropped instanceof SmtpError);
  assert.equal(dropped.code, 421);
  await send(box, { subject: "Through" });
  assert.equal(box.smtp.messages.length, 1);
});

Deno.test("POST /api/faults refuses unknown commands, bad replies and counts; DELETE removes faults", async () => {
  await using box = await inbox();
  const bad = [
    { command: "HELP", reply: "451 x" },
    { command: "MAIL", reply: "250 OK" },
    { command: "MAIL", reply: "451 two\r\nlines" },
    { command: "MAIL", reply: "451 x", count: 0 },
    { command: "MAIL", reply: "451 x", count: 1.5 },
  ];
  for (const fault of bad) {
    const { status, body } = await addFault(box, fault);
    assert.equal(status, 400, JSON.stringify(fault));
    assert.match(body.error, /^Cannot add fault: /);
  }
  const notJson = await json(box, "/api/faults", {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: JSON.stringify({ command: "MAIL", reply: "451 x" }),
  });
  assert.equal(notJson.status, 415);
  const one = (await addFault(box, { command: "MAIL", reply: "451 x" })).body;
  await addFault(box, { command: "EHLO", reply: "554 no" });
  assert.equal(
    (await get(box, `/api/faults/${one.id}`, { method: "DELETE" })).status,
    204,
  );
  assert.deepEqual(
    (await json(box, "/api/faults")).body.map((f: { command: string }) =>
      f.command
    ),
    ["EHLO"],
  );
  assert.equal(
    (await get(box, "/api/faults", { method: "DELETE" })).status,
    204,
  );
  assert.deepEqual((await json(box, "/api/faults")).body, []);
  assert.equal(
    (await json(box, "/api/faults/77", { method: "DELETE" })).status,
    404,
  );
  for (let i = 0; i < 100; i++) {
    const added = await addFault(box, { command: "MAIL", reply: "451 x" });
    assert.equal(added.status, 201);
  }
  const full = await addFault(box, { command: "MAIL", reply: "451 x" });
  assert.equal(full.status, 400);
  assert.equal(full.body.error, "Cannot add fault: 100 are waiting already");
});

Deno.test("startInbox keeps the caller's own hooks and onMessage beside its faults", async () => {
  const seen: string[] = [];
  await using box = await inbox({
    smtp: {
      hooks: {
        RCPT: ({ args }) =>
          args.includes("gone@") ? { reply: "550 5.1.1 Gone" } : "default",
      },
      onMessage: (message) => seen.push(message.envelope.to.join()),
    },
  });
  await send(box, { to: ["ada@example.org", "gone@example.org"] });
  assert.deepEqual(seen, ["ada@example.org"]);
  await addFault(box, { command: "MAIL", reply: "452 4.3.1 Full" });
  const error = await send(box, {}).then(() => undefined, (e) => e);
  assert.equal(error?.code, 452);
  await send(box, {});
  assert.equal(seen.length, 2);
});

Deno.test("startInbox refuses other Host names (DNS rebinding) and cross-origin changes", async () => {
  await using box = await inbox();
  await send(box, {});
  const url = new URL(box.url);
  // fetch keeps the Host header a caller sets only through a raw request.
  const conn = await Deno.connect({
    hostname: url.hostname,
    port: Number(url.port),
  });
  await conn.write(new TextEncoder().encode(
    "GET /api/messages HTTP/1.1\r\nHost: attacker.example:8025\r\nConnection: close\r\n\r\n",
  ));
  const reply = await new Response(conn.readable).text();
  assert.match(reply, /^HTTP\/1\.1 421 /);
  assert.doesNotMatch(reply, /Hello/);
  const localhost = await fetch(`http://localhost:${url.port}/api/info`);
  assert.equal(localhost.status, 200);
  await localhost.body?.cancel();
  const crossSite = await json(box, "/api/messages", {
    method: "DELETE",
    headers: { origin: "https://attacker.example" },
  });
  assert.equal(crossSite.status, 403);
  assert.equal(box.smtp.messages.length, 1);
  const sameSite = await get(box, "/api/messages", {
    method: "DELETE",
    headers: { origin: url.origin },
  });
  assert.equal(sameSite.status, 204);
});

Deno.test("Inbox.close ends pending waits and open event streams", async () => {
  const box = await inbox();
  const waiting = json(box, "/api/wait?timeout=60000");
  const events = await get(box, "/api/events");
  const reading = new Response(events.body).text();
  // Let both requests reach the server.
  await json(box, "/api/info");
  await box.close();
  assert.equal((await waiting).status, 408);
  assert.equal(await reading, "retry: 1000\n\n");
  await box.close(); // twice is fine
});

Deno.test("startInbox rejects invalid options and a port in use", async () => {
  await assert.rejects(startInbox({ port: -1 }), RangeError);
  await assert.rejects(startInbox({ port: 0, maxMessages: 0 }), RangeError);
  await assert.rejects(
    // @ts-expect-error: not a function
    startInbox({ port: 0, smtp: { port: 0 }, resolveTxt: "dns" }),
    TypeError,
  );
  await using box = await inbox();
  const port = Number(new URL(box.url).port);
  await assert.rejects(
    inbox({ port }),
    /Cannot start the inbox on 127\.0\.0\.1:\d+: /,
  );
});
