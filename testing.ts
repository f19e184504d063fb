/**
 * An SMTP capture server for tests: point the code that sends your
 * notifications at it, then assert on what it received (envelope, bytes,
 * TLS, AUTH user, transcript). Like mailpit or a test account, but in-process,
 * on a free loopback port, and disposed with `await using`.
 *
 * It speaks the server side of SMTP properly (EHLO, STARTTLS or implicit TLS
 * with a built-in TEST-ONLY certificate, AUTH PLAIN / LOGIN / CRAM-MD5 /
 * XOAUTH2 / OAUTHBEARER, PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN,
 * CHUNKING, ENHANCEDSTATUSCODES), and hooks script any fault: a reply per
 * command, delays, raw bytes, disconnects, a server that stops answering.
 *
 * @example Test the code that sends your notifications
 * ```ts ignore
 * import { sendmail } from "@x/sendmail";
 * import { startTestServer } from "@x/sendmail/testing";
 * import assert from "node:assert/strict";
 *
 * Deno.test("alert mails go to the on-call address", async () => {
 *   await using server = await startTestServer({
 *     auth: { users: { alerts: "s3cret" } },
 *   });
 *   await sendmail(
 *     { ...server.clientOptions, auth: { username: "alerts", password: "s3cret" } },
 *     { from: "alerts@example.com", to: "oncall@example.com", subject: "Disk", text: "91%" },
 *   );
 *   const message = await server.nextMessage();
 *   assert.deepEqual(message.envelope.to, ["oncall@example.com"]);
 *   assert.equal(message.authUser, "alerts");
 *   assert.ok(message.secure); // STARTTLS was used
 *   assert.match(message.text, /^Subject: Disk\r$/m);
 * });
 * ```
 *
 * @example Script a fault: the second recipient does not exist
 * ```ts
 * import { startTestServer } from "@x/sendmail/testing";
 *
 * await using server = await startTestServer({
 *   hooks: {
 *     RCPT: ({ count }) => count === 2 ? { reply: "550 5.1.1 No such user" } : "default",
 *     // Others: [{ reply: "421 4.3.2 Shutting down" }, { close: true }],
 *     // [{ delay: 2000 }, "default"], { hang: true }, { stopReading: true },
 *     // { reply: "220 Ready", extra: "250 injected\r\n" } for STARTTLS …
 *   },
 * });
 * ```
 *
 * @module
 */
export {
  startTestServer,
  type TestServer,
  type TestServerClientOptions,
} from "./src/testing/start_test_server.ts";
export {
  DEFAULT_EXTENSIONS,
  type HookAction,
  type HookContext,
  type HookSession,
  type HookStep,
  type HookVerb,
  type TestServerAuth,
  type TestServerAuthMechanism,
  type TestServerHook,
  type TestServerHooks,
  type TestServerOptions,
} from "./src/testing/test_server_options.ts";
export type {
  ReceivedEnvelope,
  ReceivedMessage,
  TranscriptLine,
} from "./src/testing/received_message.ts";
export {
  type Inbox,
  type InboxOptions,
  startInbox,
} from "./src/testing/start_inbox.ts";
export {
  type MemoryScript,
  type MemoryServerConnection,
  type MemoryTransport,
  memoryTransport,
} from "./src/testing/memory_transport.ts";
