/**
 * The interop test harness: real SMTP servers on free loopback ports, test
 * certificates, and a scripted server for faults. Every server is disposed
 * with `await using`, leaving Deno's sanitizers clean.
 *
 * @module
 */

export {
  makeTestCerts,
  makeUntrustedCerts,
  makeWrongNameCerts,
  type TestCerts,
} from "./certs.ts";
export { freePort, waitForPort } from "./net.ts";
export {
  findBinary,
  interop,
  interopRequired,
  type InteropTestDefinition,
  missing,
  PYTHON,
  type Requirement,
} from "./interop.ts";
export {
  parseDump,
  type SinkMessage,
  type SinkStats,
  type SmtpSink,
  type SmtpSinkOptions,
  startSmtpSink,
} from "./smtp_sink.ts";
export {
  type Aiosmtpd,
  type AiosmtpdAuth,
  type AiosmtpdAuthAttempt,
  type AiosmtpdMessage,
  type AiosmtpdOptions,
  type AiosmtpdUser,
  startAiosmtpd,
} from "./aiosmtpd.ts";
export {
  type NodeSmtpAuth,
  type NodeSmtpAuthAttempt,
  type NodeSmtpMessage,
  type NodeSmtpServer,
  type NodeSmtpServerOptions,
  startNodeSmtpServer,
} from "./node_smtp_server.ts";
export {
  type ScriptedConnection,
  type ScriptedServer,
  type ScriptedServerOptions,
  startScriptedServer,
} from "./scripted_server.ts";
export {
  type Postfix,
  type PostfixMessage,
  type PostfixOptions,
  type PostfixService,
  startPostfix,
} from "./postfix.ts";
export {
  type Dovecot,
  DOVECOT_DEFAULT_USER,
  type DovecotLmtp,
  type DovecotMechanism,
  type DovecotOptions,
  type DovecotUser,
  type MaildirMessage,
  readMaildir,
  startDovecot,
} from "./dovecot.ts";
export {
  type Exim,
  type EximMessage,
  type EximOptions,
  type EximUser,
  startExim,
} from "./exim.ts";
export { type OpenSmtpd, startOpenSmtpd } from "./opensmtpd.ts";
export {
  type Haraka,
  type HarakaMessage,
  type HarakaOptions,
  type HarakaUser,
  startHaraka,
} from "./haraka.ts";
export {
  type PostfixChain,
  type PostfixChainOptions,
  startPostfixChain,
} from "./postfix_chain.ts";
export { ChildLines } from "./process.ts";
