import { printable } from "./_control.ts";
import type { Reply } from "./reply.ts";

/**
 * A reply as error messages quote it: `550 5.1.1 "no such user"`. The text
 * is quoted as JSON and stripped of control characters, so a server cannot
 * forge lines or drive a terminal through an error message.
 *
 * @param reply The reply.
 * @returns The code, the enhanced code and the quoted text.
 */
export function describeReply(reply: Reply): string {
  const enhanced = reply.enhancedCode ? ` ${reply.enhancedCode}` : "";
  return `${reply.code}${enhanced} ${JSON.stringify(printable(reply.text))}`;
}
