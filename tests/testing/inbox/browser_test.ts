// The inbox in a real browser: Debian's chromium, driven by playwright-core
// (no browser download: executablePath). Mail sent with our client shows
// up in the open page without a reload; the message view shows the HTML
// body in its sandboxed frame, with the inline image and without running
// the body's script or fetching its remote image (a local HTTP server
// counts requests) until "Load remote content" is clicked; attachments
// download under their names; faults set from the page refuse the next
// message. One browser for the whole file.
//
// The screenshot the README shows is written to docs/inbox.png when
// SENDMAIL_UPDATE_SCREENSHOT=1 (deno task inbox:screenshot), else to a
// temporary file.

import assert from "node:assert/strict";
import { chromium } from "npm:playwright-core@1.65.1";
import { sendmail, SmtpError } from "../../../mod.ts";
import { type Inbox, startInbox } from "../../../testing.ts";
import { ed25519Key } from "../../dkim/_keys.ts";
import { interop } from "../../_harness/mod.ts";

const CHROMIUM = "/usr/bin/chromium";

/** What the test reads of an <img> (no DOM types here). */
interface Img {
  naturalWidth: number;
  src: string;
  complete: boolean;
  decode(): Promise<void>;
}
const SCREENSHOT = new URL("../../../docs/inbox.png", import.meta.url);

/** A PNG of `size`×`size` pixels, a diagonal gradient, made here. */
async function png(size: number): Promise<Uint8Array> {
  const table = new Uint32Array(256).map((_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Uint8Array) => {
    let c = 0xffffffff;
    for (const b of bytes) c = table[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc(out.subarray(4, 8 + data.length)));
    return out;
  };
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, size);
  view.setUint32(4, size);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = new Uint8Array((size * 3 + 1) * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const at = y * (size * 3 + 1) + 1 + x * 3;
      rows.set([9, 105 + ((x + y) * 60) / size, 218], at);
    }
  }
  const deflated = new Uint8Array(
    await new Response(
      new Blob([rows]).stream().pipeThrough(new CompressionStream("deflate")),
    ).arrayBuffer(),
  );
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflated),
    chunk("IEND", new Uint8Array()),
  ];
  return new Uint8Array(await new Blob(parts).arrayBuffer());
}

/** A local server standing for the remote hosts a message loads from. */
function tracker() {
  const hits: string[] = [];
  let notify: (() => void) | undefined;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (request) => {
    hits.push(new URL(request.url).pathname);
    notify?.();
    return new Response(null, { status: 204 });
  });
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    hits,
    /** Resolves once a request for `path` came. */
    until(path: string): Promise<void> {
      return new Promise((resolve) => {
        const check = () => {
          if (hits.includes(path)) resolve();
        };
        notify = check;
        check();
      });
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test(interop({
  name:
    "The inbox shows new mail live in chromium, sandboxes its HTML, blocks remote loads and downloads attachments",
  requires: ["chromium"],
  async fn(t) {
    const key = await ed25519Key();
    await using remote = tracker();
    await using inbox: Inbox = await startInbox({
      port: 0,
      smtp: { port: 0 },
      resolveTxt: (name) =>
        Promise.resolve(
          name === "mail._domainkey.shop.example" ? [key.record] : [],
        ),
    });
    const client = {
      ...inbox.smtp.clientOptions,
      dkim: {
        domainName: "shop.example",
        keySelector: "mail",
        privateKey: key.pem,
      },
    };
    const profile = await Deno.makeTempDir({ prefix: "inbox-chromium-" });
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1280, height: 800 },
      acceptDownloads: true,
      locale: "en-GB",
      timezoneId: "UTC",
    });
    try {
      const page = await browser.newPage();
      const blockedScripts: string[] = [];
      page.on("console", (message) => {
        if (/Blocked script execution/.test(message.text())) {
          blockedScripts.push(message.text());
        }
      });
      const errors: Error[] = [];
      page.on("pageerror", (error) => errors.push(error));
      let navigations = 0;
      page.on("framenavigated", (frame) => {
        if (frame === page.mainFrame()) navigations++;
      });
      await page.goto(inbox.url);
      await page.waitForSelector("#live.on");
      assert.equal(navigations, 1);
      await page.evaluate(() => {
        (globalThis as { marker?: number }).marker = 42;
      });

      await t.step(
        "mail sent with our client appears without a reload",
        async () => {
          await sendmail(client, {
            from: "Ops <ops@shop.example>",
            to: "ada@example.org",
            subject: "Password reset requested",
            text: "Someone asked to reset your password.",
            date: new Date("2026-09-24T09:12:00Z"),
          });
          await sendmail(client, {
            from: "Newsletter <news@shop.example>",
            to: "ada@example.org",
            subject: "This week: autumn collection",
            html: "<p>New arrivals.</p>",
            date: new Date("2026-09-24T09:20:00Z"),
          });
          await sendmail(client, {
            from: "Shop <orders@shop.example>",
            to: "Ada Lovelace <ada@example.org>",
            subject: 'Order #1042 confirmed <script>alert("subject")</script>',
            text: "Thanks, Ada! Your order ships today.",
            html: `<div style="font-family: sans-serif; max-width: 560px">
  <p><img id="logo" src="cid:logo@shop" width="48" height="48" alt="Shop"></p>
  <h1 style="color: #0969da">Thanks, Ada!</h1>
  <p>Your order <b>#1042</b> ships today. The invoice is attached.</p>
  <table style="border-collapse: collapse">
    <tr><td style="padding: 4px 12px 4px 0">Analytical Engine, scale model</td><td>€ 129.00</td></tr>
    <tr><td style="padding: 4px 12px 4px 0">Shipping</td><td>€ 0.00</td></tr>
  </table>
  <img id="pixel" src="${remote.origin}/pixel.gif" width="1" height="1" alt="">
  <script>document.body.setAttribute("data-ran", "yes"); fetch("${remote.origin}/script");</script>
</div>`,
            attachments: [
              {
                filename: "logo.png",
                content: await png(48),
                contentId: "logo@shop",
              },
              {
                filename: "invoice #1042 <img src=x onerror=alert(1)>.pdf",
                content: "%PDF-1.4 invoice 1042",
                contentType: "application/pdf",
              },
            ],
            date: new Date("2026-09-24T09:30:00Z"),
          });
          await page.waitForSelector('#messages li[data-id="3"]');
          assert.equal(await page.locator("#messages li").count(), 3);
          // Still the first page: no reload, no navigation.
          assert.equal(
            await page.evaluate(() =>
              (globalThis as { marker?: number }).marker
            ),
            42,
          );
          assert.equal(navigations, 1);
          // Newest first; the subject is text, its <script> markup included.
          const first = page.locator("#messages li").first();
          assert.match(
            await first.locator(".row-subject").innerText(),
            /^Order #1042 confirmed <script>alert\("subject"\)<\/script>/,
          );
          assert.equal(await page.locator("script").count(), 1);
        },
      );

      await t.step(
        "the message view shows the HTML body in its sandboxed frame",
        async () => {
          await page.locator('#messages li[data-id="3"]').click();
          const frameElement = await page.waitForSelector("#html-frame");
          assert.equal(
            await frameElement.getAttribute("sandbox"),
            "allow-popups allow-popups-to-escape-sandbox",
          );
          const frame = (await frameElement.contentFrame())!;
          await frame.waitForLoadState("load");
          assert.equal(await frame.locator("h1").innerText(), "Thanks, Ada!");
          assert.equal(frame.url(), "about:srcdoc");
          // The inline image came from the message (cid:), and was drawn.
          assert.equal(
            await frame.locator("#logo").evaluate((element) => {
              const img = element as unknown as Img;
              return [img.naturalWidth, img.src.slice(0, 22)].join(" ");
            }),
            "48 data:image/png;base64,",
          );
          assert.equal(
            await page.locator("#subject").innerText(),
            'Order #1042 confirmed <script>alert("subject")</script>',
          );
          assert.match(
            await page.locator("#meta").innerText(),
            /DKIM\s+pass \(shop\.example\)/,
          );
        },
      );

      await t.step("the screenshot for the README", async () => {
        const frame = (await (await page.$("#html-frame"))!.contentFrame())!;
        await frame.waitForLoadState("load");
        const path = Deno.env.get("SENDMAIL_UPDATE_SCREENSHOT") === "1"
          ? SCREENSHOT.pathname
          : await Deno.makeTempFile({ suffix: ".png" });
        const image = await page.screenshot({ path });
        assert.deepEqual([...image.subarray(1, 4)], [0x50, 0x4e, 0x47]);
        if (path !== SCREENSHOT.pathname) await Deno.remove(path);
      });

      await t.step(
        "the body's script does not run and its remote image is not fetched",
        async () => {
          const frame = (await (await page.$("#html-frame"))!.contentFrame())!;
          assert.equal(
            await frame.locator("body").getAttribute("data-ran"),
            null,
          );
          assert.ok(
            blockedScripts.length > 0,
            "chromium reports the blocked script",
          );
          // The frame has loaded (its load event waits for its images).
          assert.equal(
            await frame.locator("#pixel").evaluate((element) => {
              const img = element as unknown as Img;
              return img.complete && img.naturalWidth === 0;
            }),
            true,
          );
          assert.equal(remote.hits.length, 0, remote.hits.join());
          assert.match(
            await page.locator("#remote-bar").innerText(),
            /1 remote resource is blocked\./,
          );
          // Asked for, remote content loads: the counter can see it.
          await page.locator("#load-remote").click();
          await remote.until("/pixel.gif");
          assert.deepEqual(remote.hits, ["/pixel.gif"]);
          const reloaded = (await (await page.waitForSelector("#html-frame"))
            .contentFrame())!;
          await reloaded.waitForLoadState("load");
          assert.equal(
            await reloaded.locator("body").getAttribute("data-ran"),
            null,
          );
          assert.ok(!remote.hits.includes("/script"));
        },
      );

      await t.step(
        "an attachment link downloads the file under its name",
        async () => {
          const link = page.locator("#files a", { hasText: "invoice" });
          assert.equal(
            await link.innerText(),
            "↓ invoice #1042 <img src=x onerror=alert(1)>.pdf 21 B",
          );
          const [download] = await Promise.all([
            page.waitForEvent("download"),
            link.click(),
          ]);
          assert.equal(
            await link.getAttribute("download"),
            "invoice #1042 <img src=x onerror=alert(1)>.pdf",
          );
          // Chromium itself replaces "<" and ">" in the file it saves.
          assert.match(
            download.suggestedFilename(),
            /^invoice #1042 .img src=x onerror=alert\(1\).\.pdf$/,
          );
          const saved = await download.path();
          assert.equal(await Deno.readTextFile(saved), "%PDF-1.4 invoice 1042");
        },
      );

      await t.step(
        "the page shows the transcript, the Received path and the DKIM result",
        async () => {
          await page.locator('#tabs button[data-tab="transcript"]').click();
          assert.match(
            await page.locator(".transcript").innerText(),
            /C: STARTTLS/,
          );
          await page.locator('#tabs button[data-tab="trace"]').click();
          const hops = page.locator("img.hops");
          await hops.waitFor();
          assert.ok(
            await hops.evaluate((element) => {
              const img = element as unknown as Img;
              return img.decode().then(() => img.naturalWidth);
            }) > 0,
          );
          assert.match(
            await page.locator(".dkim").innerText(),
            /pass\s+d=shop\.example · s=mail · a=ed25519-sha256/,
          );
          await page.locator('#tabs button[data-tab="html"]').click();
          await page.waitForSelector("#html-frame");
        },
      );

      await t.step(
        "a fault set from the page refuses the next message, then clears",
        async () => {
          await page.locator("#faults-toggle").click();
          await page.locator("#fault-count").fill("1");
          await page.locator("#fault-reply").fill(
            "451 4.7.1 Greylisted, try again",
          );
          await page.locator("#fault-command").selectOption("RCPT");
          await page.locator('#fault-form button[type="submit"]').click();
          await page.waitForSelector("#fault-list li");
          assert.match(
            await page.locator("#fault-list").innerText(),
            /1 × “451 4\.7\.1 Greylisted, try again” at RCPT/,
          );
          const error = await sendmail(client, {
            from: "orders@shop.example",
            to: "ada@example.org",
            subject: "Refused",
            text: "x",
          }).then(() => undefined, (e) => e);
          assert.ok(error instanceof SmtpError);
          assert.equal(error.code, 451);
          await page.waitForSelector("#fault-list li", { state: "detached" });
          assert.equal(await page.locator("#messages li").count(), 3);
        },
      );

      await t.step(
        "search filters the list, delete removes a message live",
        async () => {
          await page.locator("#search").fill("reset");
          assert.deepEqual(
            await page.locator("#messages li").evaluateAll((items) =>
              items.map((item) => item.getAttribute("data-id"))
            ),
            ["1"],
          );
          await page.locator("#search").fill("");
          await page.locator("#delete").click();
          await page.waitForSelector('#messages li[data-id="3"]', {
            state: "detached",
          });
          assert.equal(inbox.smtp.messages.length, 2);
          assert.equal(await page.locator("#view").isHidden(), true);
        },
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await Deno.remove(profile, { recursive: true });
    }
  },
}));
