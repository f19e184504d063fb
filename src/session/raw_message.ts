/**
 * A message sent as given: the envelope plus the bytes of an RFC 5322
 * message. Line endings are normalised to CRLF and the data is dot-stuffed on
 * the way out; nothing else is changed.
 *
 * @example
 * ```ts
 * import type { RawMessage } from "@x/sendmail";
 * const message: RawMessage = {
 *   envelope: { from: "a@example.com", to: ["b@example.com"] },
 *   raw: "Subject: hi\r\n\r\nhello\r\n",
 * };
 * ```
 */
export interface RawMessage {
  /** The SMTP envelope: reverse-path and forward-paths, bare addresses. */
  envelope: {
    /** The envelope sender (MAIL FROM); `""` for the null reverse-path. */
    from: string;
    /** The recipients (RCPT TO). */
    to: string[];
  };
  /** The message bytes; streams and blobs are streamed, never buffered whole. */
  raw: string | Uint8Array | Blob | ReadableStream<Uint8Array>;
}
