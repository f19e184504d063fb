// dkimpy (python3-dkim) as the independent verifier of the tests.

import { toBase64 } from "../../src/protocol/_base64.ts";
import { PYTHON } from "../_harness/mod.ts";

const SCRIPT = new URL("./_dkimpy_verify.py", import.meta.url).pathname;

/** dkimpy's verdict on one DKIM-Signature field. */
export interface Verdict {
  ok: boolean;
  domain: string;
  selector: string;
  /** dkimpy's log, which says why a signature failed. */
  log: string;
}

/**
 * Verifies every DKIM-Signature of each message with dkimpy, the key
 * records answered from `records` (`"<selector>._domainkey.<domain>"`).
 */
export async function dkimpyVerify(
  records: Record<string, string>,
  messages: Uint8Array[],
): Promise<Verdict[][]> {
  const child = new Deno.Command(PYTHON, {
    args: [SCRIPT],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { PYTHONDONTWRITEBYTECODE: "1" },
  }).spawn();
  const input = JSON.stringify({
    records,
    messages: messages.map((m) => toBase64(m)),
  });
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(`dkimpy failed: ${new TextDecoder().decode(stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(stdout));
}
