import type { Reply } from "../protocol/reply.ts";

/** The outcome of a send that the server accepted for at least one recipient. */
export interface SendResult {
  /** Recipients the server accepted. */
  accepted: string[];
  /** Recipients the server refused, each with its reply. */
  rejected: { recipient: string; reply: Reply }[];
  /** The reply to the end of data (or to the last BDAT). */
  reply: Reply;
  /** The Message-ID of a composed message. */
  messageId?: string;
  /** The envelope used. */
  envelope: { from: string; to: string[] };
  /** Whether the message went over TLS. */
  secure: boolean;
}
