/**
 * Two throwaway Postfix instances in a row on loopback, for tests of the
 * trace a real relay leaves: the first (`first.test` by default) accepts
 * mail in plaintext and relays everything to the second over STARTTLS
 * (`smtp_tls_security_level = encrypt`); the second (`second.test`) offers
 * STARTTLS with the test certificates, writes the TLS details into its
 * `Received:` field (`smtpd_tls_received_header = yes`) and holds every
 * message, so {@linkcode PostfixChain.delivered} reads what arrived.
 *
 * Needs what {@linkcode startPostfix} needs (root, Postfix's daemons and
 * `postcat`), plus `openssl` for the certificates: the `"postfix-smtpd"`
 * and `"openssl"` requirements of `interop()`.
 *
 * @module
 */

import { makeTestCerts } from "./certs.ts";
import { type Postfix, type PostfixMessage, startPostfix } from "./postfix.ts";

/** Two running Postfix instances, the first relaying to the second. */
export interface PostfixChain extends AsyncDisposable {
  /** The instance clients send to, in plaintext. */
  readonly first: Postfix;
  /** The instance the first relays to over STARTTLS; it holds what it gets. */
  readonly second: Postfix;
  /**
   * Waits until the second instance holds `count` messages, and returns
   * them, oldest first.
   *
   * @throws {Error} When they do not arrive within `timeoutMs` (with both
   * instances' logs).
   */
  delivered(count?: number, timeoutMs?: number): Promise<PostfixMessage[]>;
}

/** Options of {@linkcode startPostfixChain}. */
export interface PostfixChainOptions {
  /** The first instance's myhostname. @default {"first.test"} */
  firstName?: string;
  /** The second instance's myhostname. @default {"second.test"} */
  secondName?: string;
}

const TLSMGR = "tlsmgr unix - - n 1000? 1 tlsmgr";

/**
 * Starts the chain: the second instance first, then the first pointed at
 * it.
 *
 * @param options The host names.
 * @returns The running chain; dispose it with `await using`.
 * @throws {Error} When either instance cannot start.
 * @example A message through two relays
 * ```ts ignore
 * await using chain = await startPostfixChain();
 * await sendmail({ hostname: chain.first.hostname, port: chain.first.port, tls: "none" }, mail);
 * const [message] = await chain.delivered(1);
 * ```
 */
export async function startPostfixChain(
  options: PostfixChainOptions = {},
): Promise<PostfixChain> {
  const certs = await makeTestCerts();
  const firstName = options.firstName ?? "first.test";
  const secondName = options.secondName ?? "second.test";
  const second = await startPostfix({
    main: {
      myhostname: secondName,
      mydomain: secondName,
      myorigin: secondName,
      smtpd_banner: "$myhostname ESMTP Postfix test",
      smtpd_tls_security_level: "may",
      smtpd_tls_cert_file: certs.certFile,
      smtpd_tls_key_file: certs.keyFile,
      smtpd_tls_received_header: "yes",
      smtpd_tls_loglevel: "1",
    },
    master: [TLSMGR],
  });
  try {
    const first = await startPostfix({
      main: {
        myhostname: firstName,
        mydomain: firstName,
        myorigin: firstName,
        smtpd_banner: "$myhostname ESMTP Postfix test",
        // Accept and relay, not hold.
        smtpd_client_restrictions: "",
        relayhost: `[127.0.0.1]:${second.port}`,
        smtp_tls_security_level: "encrypt",
        smtp_tls_CAfile: certs.caFile,
        smtp_tls_loglevel: "1",
        smtp_dns_support_level: "disabled",
        // Deliver at once, even after a failed attempt.
        queue_run_delay: "1s",
        minimal_backoff_time: "1s",
        maximal_backoff_time: "2s",
      },
      master: [
        TLSMGR,
        "smtp unix - - n - - smtp",
        "relay unix - - n - - smtp",
      ],
    });
    return new Chain(first, second);
  } catch (error) {
    await second[Symbol.asyncDispose]();
    throw error;
  }
}

class Chain implements PostfixChain {
  readonly first: Postfix;
  readonly second: Postfix;

  constructor(first: Postfix, second: Postfix) {
    this.first = first;
    this.second = second;
  }

  async delivered(count = 1, timeoutMs = 20_000): Promise<PostfixMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      // A queue file being written cannot be read yet: try again.
      const messages = await this.second.messages().catch(() => []);
      if (messages.length >= count) return messages;
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out waiting for ${count} message(s) to reach the second Postfix (${messages.length} arrived)\n` +
            `first:\n${this.first.log}\nsecond:\n${this.second.log}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.first[Symbol.asyncDispose]();
    } finally {
      await this.second[Symbol.asyncDispose]();
    }
  }
}
