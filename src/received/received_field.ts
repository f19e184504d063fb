/**
 * Where a message came from, as a `Received:` field states it. The HELO
 * name, the reverse-DNS name and the address are kept apart: a client can
 * say anything in HELO, the reverse-DNS name is what the receiving server
 * looked up, the address is what it saw.
 */
export interface ReceivedFrom {
  /**
   * The reverse-DNS name of the connecting host, as the receiving server
   * found it (`host.example.net` in Postfix's `from helo.example
   * (host.example.net [192.0.2.1])`, the first word in Exim's and qmail's
   * `from host.example.net …`). Absent when the server says `unknown`.
   */
  name?: string;
  /** The name the client gave in HELO, EHLO or LHLO, as given (`[192.0.2.1]` stays a literal). */
  helo?: string;
  /**
   * The connecting address: IPv4 dotted quad or IPv6 text, without brackets,
   * the `IPv6:` tag or a port (`2001:db8::1`).
   */
  ip?: string;
  /**
   * The local user who submitted the message, for mail that came from a
   * program on the host rather than over the network, as stated: a login
   * (`alice@localhost` in sendmail's `(from alice@localhost)`, `root` in
   * Exim's `from root by host with local`) or a numeric uid (`1000` in
   * Postfix's `from userid 1000` and qmail's `invoked by uid 1000`).
   */
  user?: string;
}

/** The host that received the message and wrote the field. */
export interface ReceivedBy {
  /** Its name. */
  name?: string;
  /** Its address, when the field states one (`by name (192.0.2.2)`, `by [192.0.2.2]`). */
  ip?: string;
}

/** The TLS of the connection, where the field states it. */
export interface ReceivedTls {
  /**
   * The protocol version; `TLS1_3`, `TLSv1.3`, `TLS1.3` and `TLS-1.3` are
   * all given as `TLSv1.3`, anything else as stated (`TLSv1/SSLv3`).
   */
  version?: string;
  /** The cipher suite, as stated (`TLS_AES_256_GCM_SHA384`, `ECDHE-RSA-AES128-GCM-SHA256`). */
  cipher?: string;
}

/**
 * The parts of a `Received:` field (RFC 5321 §4.4): what
 * {@linkcode formatReceived} writes, and what {@linkcode parseReceived}
 * reads besides the raw text.
 */
export interface ReceivedFieldInit {
  /** The sending host (or local user). */
  from?: ReceivedFrom;
  /** The receiving host. */
  by?: ReceivedBy;
  /** The link (`via`), rarely used: `listexpand`, `HTTP`, `Frontend Transport`. */
  via?: string;
  /**
   * The protocol (`with`): `SMTP`, `ESMTP`, `ESMTPS`, `ESMTPSA`, `LMTP` (RFC
   * 3848), or what the server wrote (`Microsoft SMTP Server`, `esmtpsa`,
   * `local`, `HTTP`).
   */
  with?: string;
  /** The receiving server's identifier of the message (queue id), without angle brackets. */
  id?: string;
  /** The recipients the field names (`for`), without angle brackets. */
  for?: string[];
  /**
   * The TLS of the connection, present when the field says TLS was used: a
   * version or cipher in a comment, or a protocol that means TLS (`ESMTPS`,
   * `ESMTPSA`, `UTF8SMTPS`, `LMTPS` …, Gmail's `SMTPS`), then perhaps empty.
   */
  tls?: ReceivedTls;
  /** When the host received the message: the date after the last `;`. */
  date?: Date;
}

/** A parsed `Received:` field: its parts, and always its text. */
export interface ReceivedField extends ReceivedFieldInit {
  /** The field body exactly as given, folding included. */
  raw: string;
}
