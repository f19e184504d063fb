/**
 * The transport for Node and Bun: {@linkcode nodeConnect} opens the
 * session's connections with `node:net` and `node:tls` (imported on the
 * first connection). `SmtpClient` and `sendmail()` already choose it by
 * themselves on Node and Bun; import it to pass it explicitly as `connect`.
 *
 * @example Passing the Node transport explicitly
 * ```ts ignore
 * import { sendmail } from "@x/sendmail";
 * import { nodeConnect } from "@x/sendmail/node";
 *
 * await sendmail(
 *   { hostname: "smtp.example.com", connect: nodeConnect },
 *   { from: "app@example.com", to: "ops@example.com", subject: "Hi", text: "Hello" },
 * );
 * ```
 *
 * @module
 */
export { nodeConnect } from "./src/transport/node_connect.ts";
