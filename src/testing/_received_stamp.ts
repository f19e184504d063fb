/**
 * The `Received:` field the capture server prepends to a message when its
 * `received` option is on, as a real MTA does (RFC 5321 §4.4).
 *
 * @module
 */

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { formatReceived } from "../received/format_received.ts";
import type { ReceivedFieldInit } from "../received/received_field.ts";

/** What the session knows when a message is accepted. */
export interface StampFacts {
  /** The argument of EHLO/HELO. */
  helo: string | undefined;
  /** Whether the client greeted with EHLO. */
  esmtp: boolean;
  /** The socket, a TLSSocket when TLS is up. */
  socket: Socket;
  /** Whether TLS is up. */
  secure: boolean;
  /** Whether the client authenticated. */
  authenticated: boolean;
  /** The server's name. */
  serverName: string;
  /** The queue id the server replied with. */
  id: string;
  /** The accepted recipients. */
  to: readonly string[];
}

/**
 * The field, `Received: …` with its CRLF, as bytes. Values a client made
 * up that cannot go into a field (a HELO argument with spaces, say) are
 * left out rather than failing the delivery.
 */
export function receivedStamp(facts: StampFacts, now = new Date()): Uint8Array {
  const protocol = (facts.esmtp ? "ESMTP" : "SMTP") +
    (facts.secure ? "S" : "") + (facts.authenticated ? "A" : "");
  const fields: ReceivedFieldInit = {
    by: { name: facts.serverName },
    with: protocol,
    id: facts.id,
    date: now,
  };
  const from: NonNullable<ReceivedFieldInit["from"]> = {};
  if (facts.helo) from.helo = facts.helo;
  const ip = facts.socket.remoteAddress;
  if (ip) from.ip = ip;
  if (Object.keys(from).length > 0) fields.from = from;
  // One recipient is named, as Postfix and sendmail do; more would tell
  // each of them about the others (Bcc).
  if (facts.to.length === 1) fields.for = [facts.to[0]!];
  if (facts.secure) {
    const tls = facts.socket as TLSSocket;
    const version = tls.getProtocol?.();
    const cipher = tls.getCipher?.()?.name;
    fields.tls = {};
    if (version) fields.tls.version = version;
    if (cipher) fields.tls.cipher = cipher;
  }
  // Drop what a client or a test made unwritable, one part at a time.
  const attempts: (() => void)[] = [
    () => delete fields.from?.helo,
    () => delete fields.for,
    () => {
      const local = facts.socket.localAddress;
      fields.by = local ? { ip: local } : { name: "localhost" };
    },
  ];
  for (let i = 0;; i++) {
    try {
      return new TextEncoder().encode(
        `Received: ${formatReceived(fields)}\r\n`,
      );
    } catch (error) {
      if (!(error instanceof TypeError) || i >= attempts.length) throw error;
      attempts[i]!();
    }
  }
}
