/**
 * Envelope planning: the MAIL and RCPT commands for a message, with every
 * check that can refuse it before anything is sent (SIZE, SMTPUTF8,
 * REQUIRETLS, DSN values). Pure: plain data in, commands out.
 *
 * @module
 */
import * as cmd from "../protocol/_command.ts";
import type { Command, Params } from "../protocol/_command.ts";
import type { Capabilities } from "../protocol/capabilities.ts";
import { SmtpError } from "../protocol/smtp_error.ts";
import type { OutgoingMessage } from "./_outgoing_message.ts";
import type { DsnOptions, SendOptions } from "./send_options.ts";

/** What a transaction sends before its data. */
export interface EnvelopePlan {
  /** `MAIL FROM`, with its parameters. */
  mail: Command;
  /** One `RCPT TO` per recipient, in order. */
  rcpts: Command[];
  /** The envelope sender. */
  from: string;
  /** The recipients, duplicates removed, in order. */
  to: string[];
  /** Notes for the transcript (a requested extension the server lacks). */
  notes: string[];
}

/** The session state planning depends on. */
export interface EnvelopeContext {
  /** What the server offered (after STARTTLS when there was one). */
  capabilities: Capabilities;
  /** Whether the connection is encrypted. */
  secure: boolean;
}

const NOTIFY = new Set(["success", "failure", "delay"]);
/** RFC 3461 §4.4: ENVID is at most 100 characters. */
const MAX_ENVID = 100;

/**
 * Checks `SendOptions` (types and DSN values) on their own, before any
 * message is prepared.
 *
 * @param options The options of one send.
 * @throws {TypeError | RangeError} A value that cannot be sent.
 */
export function checkSendOptions(options: SendOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot send message: expected send options object");
  }
  const { dsn, requireTls, signal } = options;
  if (requireTls !== undefined && typeof requireTls !== "boolean") {
    throw new TypeError("Cannot use requireTls: expected true or false");
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError("Cannot use signal: expected an AbortSignal");
  }
  if (dsn !== undefined) checkDsn(dsn);
}

function checkDsn(dsn: DsnOptions): void {
  if (typeof dsn !== "object" || dsn === null) {
    throw new TypeError("Cannot use dsn: expected an object");
  }
  const { ret, notify, envelopeId } = dsn;
  if (ret !== undefined && ret !== "full" && ret !== "hdrs") {
    throw new TypeError(
      `Cannot use DSN ret ${JSON.stringify(ret)}: expected "full" or "hdrs"`,
    );
  }
  if (notify !== undefined && notify !== "never") {
    if (!Array.isArray(notify) || notify.length === 0) {
      throw new TypeError(
        `Cannot use DSN notify ${
          JSON.stringify(notify)
        }: expected "never" or a list of "success", "failure", "delay"`,
      );
    }
    for (const value of notify) {
      if (!NOTIFY.has(value)) {
        throw new TypeError(
          `Cannot use DSN notify ${
            JSON.stringify(value)
          }: expected "success", "failure" or "delay"`,
        );
      }
    }
    if (new Set(notify).size !== notify.length) {
      throw new TypeError(
        `Cannot use DSN notify ${JSON.stringify(notify)}: a value repeats`,
      );
    }
  }
  if (envelopeId !== undefined) {
    if (typeof envelopeId !== "string" || envelopeId === "") {
      throw new TypeError("Cannot use DSN envelopeId: expected a string");
    }
    cmd.assertPrintable(envelopeId, "DSN envelope id");
    if (envelopeId.length > MAX_ENVID) {
      throw new RangeError(
        `Cannot use DSN envelopeId: longer than ${MAX_ENVID} characters`,
      );
    }
  }
}

/**
 * Plans the envelope of one message: the parameters the server allows
 * (SIZE, BODY=8BITMIME, SMTPUTF8, DSN, REQUIRETLS) and the refusals that
 * need no round trip.
 *
 * @param message The message's envelope and what is known of its content.
 * @param options The send's DSN and REQUIRETLS requests.
 * @param context What the server offered, and whether the link is secure.
 * @returns The commands to send.
 * @throws {TypeError | RangeError} A bad address or DSN value.
 * @throws {SmtpError} Of kind "unsupported" or "tls": the message cannot be
 * sent to this server (too large, needs SMTPUTF8 or REQUIRETLS).
 */
export function planEnvelope(
  message: Pick<
    OutgoingMessage,
    "from" | "to" | "smtputf8" | "eightBit" | "size"
  >,
  options: SendOptions,
  context: EnvelopeContext,
): EnvelopePlan {
  const caps = context.capabilities;
  const { from } = message;
  const to = [...new Set(message.to)];
  if (to.length === 0) {
    throw new TypeError("Cannot send message: no recipient");
  }
  checkSendOptions(options);
  const notes: string[] = [];
  const mailParams: Params = [];
  const rcptParams: Params = [];
  if (message.size !== undefined && caps.size !== undefined) {
    if (caps.size > 0 && message.size > caps.size) {
      throw new SmtpError(
        `Cannot send message: its ${message.size} octets exceed the server's limit of ${caps.size}`,
        { kind: "unsupported", command: "MAIL" },
      );
    }
    mailParams.push(["SIZE", String(message.size)]);
  }
  if (message.eightBit && caps.eightBitMime) {
    mailParams.push(["BODY", "8BITMIME"]);
  }
  if (message.smtputf8) {
    if (!caps.smtpUtf8) {
      throw new SmtpError(
        "Cannot send message: an address is not ASCII and the server does not offer SMTPUTF8",
        { kind: "unsupported", command: "MAIL" },
      );
    }
    mailParams.push(["SMTPUTF8", true]);
  }
  const dsn = options.dsn;
  const useDsn = dsn !== undefined && caps.dsn;
  if (dsn && !caps.dsn) {
    notes.push("DSN requested but not offered: sending without it");
  }
  if (dsn && useDsn) {
    if (dsn.ret) mailParams.push(["RET", dsn.ret.toUpperCase()]);
    if (dsn.envelopeId !== undefined) {
      mailParams.push(["ENVID", cmd.xtext(dsn.envelopeId)]);
    }
    if (dsn.notify) {
      rcptParams.push([
        "NOTIFY",
        dsn.notify === "never"
          ? "NEVER"
          : dsn.notify.map((n) => n.toUpperCase()).join(","),
      ]);
    }
  }
  if (options.requireTls) {
    if (!context.secure) {
      throw new SmtpError(
        "Cannot send message with REQUIRETLS: the connection is not encrypted",
        { kind: "tls", command: "MAIL" },
      );
    }
    if (!caps.requireTls) {
      throw new SmtpError(
        "Cannot send message with REQUIRETLS: the server does not offer it",
        { kind: "unsupported", command: "MAIL" },
      );
    }
    mailParams.push(["REQUIRETLS", true]);
  }
  const mail = cmd.mailFrom(from, mailParams);
  const rcpts = to.map((recipient) => {
    const params: Params = [...rcptParams];
    if (dsn && useDsn && dsn.notify) {
      params.push(["ORCPT", `rfc822;${cmd.xtext(recipient)}`]);
    }
    return cmd.rcptTo(recipient, params);
  });
  return { mail, rcpts, from, to, notes };
}
