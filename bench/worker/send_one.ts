/**
 * The smallest useful Worker: it sends one mail per request with
 * `sendmail()` and the default transport (`cloudflareConnect` inside a
 * Worker). bench/worker.ts bundles it to measure what a Worker carries, and
 * runs it in workerd to time the start. `/ready` only connects and reads
 * the answer to EHLO, as bench/cold/cold_client.mjs does.
 *
 * @module
 */
import { sendmail, SmtpClient } from "../../mod.ts";

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const port = Number(url.searchParams.get("port"));
    if (url.pathname === "/ready") {
      const client = await SmtpClient.connect({
        hostname: "127.0.0.1",
        port,
        tls: "none",
      });
      await client.quit();
      return new Response("ready");
    }
    if (url.pathname === "/send") {
      const result = await sendmail(
        { hostname: "127.0.0.1", port, tls: "none" },
        {
          from: "app@example.com",
          to: "ops@example.com",
          subject: "Hello from a Worker",
          text: "One mail.",
        },
      );
      return new Response(result.accepted.join(","));
    }
    return new Response("ok");
  },
};
