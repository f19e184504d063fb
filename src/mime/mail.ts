/**
 * An email address: `"Name <a@b>"`, `"a@b"`, or `{ name?, address }`.
 *
 * @example
 * ```ts
 * import type { Address } from "@x/sendmail";
 * const a: Address = "Ada <ada@example.com>";
 * const b: Address = { name: "Grace", address: "grace@example.com" };
 * ```
 */
export type Address = string | { name?: string; address: string };

/** A file attached to a {@linkcode Mail}. */
export interface Attachment {
  /** The file name shown to the recipient. */
  filename: string;
  /** The bytes (a string is encoded as UTF-8); streams and blobs are read as sent. */
  content: string | Uint8Array | Blob | ReadableStream<Uint8Array>;
  /** The media type. @default {guessed from the filename, else "application/octet-stream"} */
  contentType?: string;
  /** Makes the attachment inline, referenced from the html as `cid:<contentId>`. */
  contentId?: string;
}

/** Extra header fields: a record, or ordered `[name, value]` pairs. */
export type MailHeaders = Record<string, string> | [string, string][];

/**
 * A message to compose and send. The envelope comes from `from` and
 * `to`/`cc`/`bcc`; Bcc never appears in the headers.
 *
 * @example A text notification
 * ```ts
 * import type { Mail } from "@x/sendmail";
 * const mail: Mail = {
 *   from: "Alerts <alerts@example.com>",
 *   to: "ops@example.com",
 *   subject: "Disk almost full",
 *   text: "Volume /data is at 91%.",
 * };
 * ```
 */
export interface Mail {
  /** The author; also the envelope sender. */
  from: Address;
  /** Primary recipients. */
  to?: Address | Address[];
  /** Copied recipients. */
  cc?: Address | Address[];
  /** Blind-copied recipients: in the envelope, never in the headers. */
  bcc?: Address | Address[];
  /** Where replies should go. */
  replyTo?: Address | Address[];
  /** The subject line (any Unicode; encoded as RFC 2047 when needed). */
  subject?: string;
  /** The plain-text body. */
  text?: string;
  /** The HTML body. */
  html?: string;
  /** Files to attach. */
  attachments?: Attachment[];
  /** Extra header fields. */
  headers?: MailHeaders;
  /** The Date header. @default {the time of composition} */
  date?: Date;
  /** The Message-ID, with or without angle brackets. @default {a random one at the From domain} */
  messageId?: string;
  /** Message-IDs this replies to (In-Reply-To). */
  inReplyTo?: string;
  /** Message-IDs of the thread (References). */
  references?: string | string[];
  /**
   * How to unsubscribe (RFC 2369), with one-click unsubscribe (RFC 8058)
   * when there is a `url`: writes `List-Unsubscribe: <https://…>,
   * <mailto:…>` and, with a `url`, `List-Unsubscribe-Post:
   * List-Unsubscribe=One-Click`. Gmail and Yahoo require both of bulk
   * senders, covered by the DKIM signature (`dkim` signs them by default).
   */
  listUnsubscribe?: {
    /**
     * The https URL a mail client POSTs `List-Unsubscribe=One-Click` to
     * (RFC 8058 §3.1): it must unsubscribe without any further step.
     */
    url?: string;
    /** A bare address (`unsubscribe@example.com`) to write to, as a mailto: URI. */
    mailto?: string;
  };
}
