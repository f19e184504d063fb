import type { TxtResolver } from "../dkim/verify_dkim.ts";
import { printable } from "../protocol/_control.ts";
import { TEST_CA_CERT } from "./_test_cert.ts";
import { type InboxOptions, startInbox } from "./start_inbox.ts";
import type { TestServerOptions } from "./test_server_options.ts";

/** What {@linkcode inboxMain} runs with. */
export interface InboxCommandContext {
  /** Where the addresses go. */
  stdout: WritableStream<Uint8Array>;
  /** Where errors and usage go. */
  stderr: WritableStream<Uint8Array>;
  /** Stops the inbox (Ctrl-C). Without it, the inbox runs until the process ends. */
  signal?: AbortSignal;
  /** DKIM key lookups. @default {Deno.resolveDns} */
  resolveTxt?: TxtResolver;
}

const USAGE = `Usage: deno run -A jsr:@x/sendmail/inbox [options]

A dev inbox: an SMTP capture server and a web page that shows its mail.

Options:
  --smtp-port N       SMTP port (default 2525; 0 picks a free one)
  --smtp-hostname H   SMTP address (default 127.0.0.1)
  --port N            web page port (default 8025; 0 picks a free one)
  --hostname H        web page address (default 127.0.0.1)
  --tls MODE          starttls (default), implicit or none
  --auth USER:PASS    offer AUTH with this account (may be repeated)
  --auth-required     refuse mail sent without AUTH
  --max-messages N    keep the newest N messages (default 500)
  --no-received       store messages without the server's Received field
  --ca                print the test CA certificate (PEM) and exit
  -h, --help          print this help and exit
`;

/** EX_USAGE of sysexits.h. */
const EX_USAGE = 64;
/** EX_UNAVAILABLE: the inbox could not start. */
const EX_UNAVAILABLE = 69;

async function write(
  stream: WritableStream<Uint8Array>,
  text: string,
): Promise<void> {
  const writer = stream.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
  } finally {
    writer.releaseLock();
  }
}

class UsageError extends Error {}

function integer(value: string | undefined, flag: string): number {
  if (value === undefined || !/^\d+$/.test(value)) {
    throw new UsageError(`${flag} needs a whole number`);
  }
  return Number(value);
}

/** Reads the command line into inbox options; `"help"` or `"ca"` to print. */
function parse(args: readonly string[]): InboxOptions | "help" | "ca" {
  const smtp: TestServerOptions = {};
  const options: InboxOptions = { smtp };
  const users: Record<string, string> = {};
  let required = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "-h":
      case "--help":
        return "help";
      case "--ca":
        return "ca";
      case "--smtp-port":
        smtp.port = integer(value(), flag);
        break;
      case "--smtp-hostname":
        smtp.hostname = value();
        break;
      case "--port":
        options.port = integer(value(), flag);
        break;
      case "--hostname":
        options.hostname = value();
        break;
      case "--tls": {
        const mode = value();
        if (mode !== "starttls" && mode !== "implicit" && mode !== "none") {
          throw new UsageError(
            `--tls is starttls, implicit or none, not ${JSON.stringify(mode)}`,
          );
        }
        smtp.tls = mode;
        break;
      }
      case "--auth": {
        const account = value();
        const colon = account.indexOf(":");
        if (colon <= 0) throw new UsageError("--auth needs USER:PASS");
        users[account.slice(0, colon)] = account.slice(colon + 1);
        break;
      }
      case "--auth-required":
        required = true;
        break;
      case "--max-messages":
        options.maxMessages = integer(value(), flag);
        break;
      case "--no-received":
        smtp.received = false;
        break;
      default:
        throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  if (Object.keys(users).length > 0) smtp.auth = { users, required };
  else if (required) throw new UsageError("--auth-required needs --auth");
  return options;
}

/**
 * The `inbox` command (`deno task inbox`, `deno run -A
 * jsr:@x/sendmail/inbox`): starts {@linkcode startInbox} from command-line
 * options, prints where its SMTP server and web page are, and runs until
 * `signal` aborts.
 *
 * @param args The command-line arguments.
 * @param context Where output goes, and what stops the inbox.
 * @returns The exit status: 0, 64 on a usage error, 69 when the inbox
 * cannot start (a port in use).
 * @throws {Error} Only when writing to stdout or stderr fails.
 *
 * @example Starting the inbox on free ports for a moment
 * ```ts
 * import { inboxMain } from "@x/sendmail/inbox";
 *
 * const controller = new AbortController();
 * const status = inboxMain(["--port", "0", "--smtp-port", "0"], {
 *   stdout: new WritableStream(),
 *   stderr: new WritableStream(),
 *   signal: controller.signal,
 * });
 * controller.abort();
 * console.log(await status); // 0
 * ```
 */
export async function inboxMain(
  args: readonly string[],
  context: InboxCommandContext,
): Promise<number> {
  let options: ReturnType<typeof parse>;
  try {
    options = parse(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await write(context.stderr, `inbox: ${printable(error.message)}\n${USAGE}`);
    return EX_USAGE;
  }
  if (options === "help") {
    await write(context.stdout, USAGE);
    return 0;
  }
  if (options === "ca") {
    await write(context.stdout, TEST_CA_CERT);
    return 0;
  }
  if (context.resolveTxt) options.resolveTxt = context.resolveTxt;
  let inbox;
  try {
    inbox = await startInbox(options);
  } catch (error) {
    await write(
      context.stderr,
      `inbox: ${
        printable(error instanceof Error ? error.message : String(error))
      }\n`,
    );
    return error instanceof RangeError || error instanceof TypeError
      ? EX_USAGE
      : EX_UNAVAILABLE;
  }
  try {
    const smtp = inbox.smtp;
    const tls = smtp.tls === "starttls"
      ? "STARTTLS"
      : smtp.tls === "implicit"
      ? "implicit TLS"
      : "no TLS";
    const host = smtp.hostname.includes(":")
      ? `[${smtp.hostname}]`
      : smtp.hostname;
    await write(
      context.stdout,
      `SMTP  ${host}:${smtp.port} (${tls}${
        smtp.tls === "none" ? "" : "; test certificate: trust --ca's output"
      }${options.smtp?.auth ? "; AUTH" : ""})\n` +
        `Web   ${inbox.url}\n`,
    );
    await new Promise<void>((resolve) => {
      if (context.signal?.aborted) return resolve();
      context.signal?.addEventListener("abort", () => resolve(), {
        once: true,
      });
    });
  } finally {
    await inbox.close();
  }
  return 0;
}
