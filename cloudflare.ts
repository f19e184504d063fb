/**
 * The transport for Cloudflare Workers: {@linkcode cloudflareConnect} opens
 * the session's connections with `connect()` from `cloudflare:sockets`
 * (imported on the first connection, so this module loads anywhere).
 * `SmtpClient` and `sendmail()` already choose it by themselves inside a
 * Worker (`navigator.userAgent === "Cloudflare-Workers"`); import it to
 * pass it explicitly as `connect`.
 *
 * What Workers allow: sockets only inside a request handler (or
 * `ctx.waitUntil`), never shared across requests; at most six connections
 * opening at once; no port 25 (use 465 or 587); no custom CA (`caCerts` is
 * a `TypeError`). No `nodejs_compat` flag is needed.
 *
 * @example A Worker that sends after answering
 * ```ts ignore
 * import { sendmail } from "@x/sendmail";
 * import { cloudflareConnect } from "@x/sendmail/cloudflare";
 *
 * export default {
 *   fetch(_request: Request, env: { SMTP_PASSWORD: string }, ctx: { waitUntil(p: Promise<unknown>): void }): Response {
 *     ctx.waitUntil(sendmail(
 *       {
 *         hostname: "smtp.example.com",
 *         port: 465,
 *         auth: { username: "app", password: env.SMTP_PASSWORD },
 *         connect: cloudflareConnect,
 *       },
 *       { from: "app@example.com", to: "ops@example.com", subject: "Hi", text: "Hello" },
 *     ));
 *     return new Response("queued", { status: 202 });
 *   },
 * };
 * ```
 *
 * @module
 */
export { cloudflareConnect } from "./src/transport/cloudflare_connect.ts";
