/**
 * Durable sending on Deno KV: enqueue a message in a request handler and
 * answer at once; deliveries send it with retries and lose nothing when the
 * relay is down, the isolate is evicted or the process is killed.
 *
 * ```ts ignore
 * import { Outbox } from "jsr:@x/sendmail/outbox";
 *
 * const outbox = await Outbox.open({ transport: Deno.env.get("SMTP_URL")! });
 * outbox.listen(); // a long-lived process; on Deno Deploy:
 * // Deno.cron("outbox", "* * * * *", () => outbox.deliver());
 *
 * Deno.serve(async (request) => {
 *   const { to } = await request.json();
 *   await outbox.enqueue({ from: "app@example.com", to, subject: "Welcome", text: "Hello" });
 *   return new Response(null, { status: 202 });
 * });
 * ```
 *
 * `Deno.openKv` needs `--unstable-kv` (or `"unstable": ["kv"]` in
 * deno.json). Entries live in the KV under `"sendmail.outbox"`: several
 * processes (or Deploy isolates) may enqueue and deliver on one KV, and
 * each due entry is taken by one of them. See {@linkcode Outbox} for the
 * delivery rules.
 *
 * @example Deliver with retries, then read what happened
 * ```ts
 * import { Outbox } from "@x/sendmail/outbox";
 * import { startTestServer } from "@x/sendmail/testing";
 * import assert from "node:assert/strict";
 *
 * let tries = 0;
 * await using server = await startTestServer({
 *   // The first transaction is deferred: greylisting.
 *   hooks: { RCPT: () => ++tries === 1 ? { reply: "451 4.7.1 Try later" } : "default" },
 * });
 * const kv = await Deno.openKv(":memory:");
 * await using outbox = await Outbox.open({ kv, transport: server.clientOptions, retry: { delays: [0] } });
 * const { id } = await outbox.enqueue({ from: "app@example.com", to: "ada@example.com", text: "Hi" });
 * assert.equal((await outbox.deliver()).retried, 1);
 * assert.equal((await outbox.deliver()).sent, 1);
 * const entry = await outbox.get(id);
 * assert.equal(entry?.attempts, 2);
 * assert.equal(entry?.recipients[0]?.state, "accepted");
 * await outbox.close();
 * kv.close();
 * ```
 *
 * @module
 */
export { Outbox } from "./src/outbox/outbox.ts";
export type {
  OutboxEntry,
  OutboxError,
  OutboxRecipient,
  OutboxState,
} from "./src/outbox/outbox_entry.ts";
export type {
  DeliverOptions,
  DeliverResult,
  EnqueueOptions,
  ListenOptions,
  OutboxListOptions,
  OutboxOptions,
  OutboxRetryOptions,
  OutboxSendOptions,
} from "./src/outbox/outbox_options.ts";
