import { REDACTED } from "../protocol/_redacted.ts";

/**
 * The transcript text of a line the client sends: an `AUTH` command with an
 * initial response shows `AUTH <MECHANISM> [redacted]`; any other line is
 * returned as is. SASL responses (the lines sent after a `334`) are all
 * credentials: log {@linkcode REDACTED} in their place.
 *
 * @param line A command line, without CRLF.
 * @returns The line, fit for a log.
 */
export function redactAuthLine(line: string): string {
  const match = /^(AUTH[ \t]+\S+)[ \t]+\S/i.exec(line);
  return match ? `${match[1]} ${REDACTED}` : line;
}
