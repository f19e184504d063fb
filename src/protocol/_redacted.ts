/** What a transcript, a log or an inspected object shows in place of a credential. */
export const REDACTED = "[redacted]";
