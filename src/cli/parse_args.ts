import type { DsnOptions } from "../session/send_options.ts";
import { CliError } from "./cli_error.ts";
import { ExitCode } from "./exit_code.ts";
import { checkQueueModes, parseOutboxCommand } from "./_queue_args.ts";

/** The command line of the sendmail command, parsed. */
export interface CliArgs {
  /** Recipient arguments, as given (each may be an address list). */
  recipients: string[];
  /** `-t`: read recipients from the To, Cc and Bcc fields. */
  readRecipients: boolean;
  /** `--read-envelope-from`: take the envelope sender from the From field. */
  readEnvelopeFrom: boolean;
  /** `-f` / `-r`: the envelope sender; `""` for the null reverse-path (`-f "<>"`). */
  from?: string;
  /** `-F`: the full name for an added From field. */
  fullName?: string;
  /** `-i` / `-oi`: a line with a single "." does not end the message. */
  ignoreDots: boolean;
  /**
   * `-oR` / `--add-received-header`: put a `Received:` field for the local
   * submission first in the header, as sendmail(8) does.
   */
  addReceived: boolean;
  /** `-N`: delivery status notification conditions. */
  dsnNotify?: NonNullable<DsnOptions["notify"]>;
  /** `-R`: how much of the message a failure report returns. */
  dsnReturn?: NonNullable<DsnOptions["ret"]>;
  /** `-V`: the envelope identifier (ENVID) for notifications. */
  envelopeId?: string;
  /** `-v`: print the SMTP transcript on standard error. */
  verbose: boolean;
  /** `-a`: the msmtp account to use. */
  account?: string;
  /** `-C` / `--file`: the msmtp configuration file. */
  file?: string;
  /** `--url`: the server as a URL, instead of a configuration file. */
  url?: string;
  /** `-P` / `--pretend`: print the configuration that would be used, and exit. */
  pretend: boolean;
  /** `--help`: print usage and exit. */
  help: boolean;
  /** `--version`: print the version and exit. */
  version: boolean;
  /** `-odq` / `--queue`: store the message in the outbox instead of sending it. */
  queue: boolean;
  /** `--queue-on-failure`: store the message in the outbox when sending fails temporarily. */
  queueOnFailure: boolean;
  /** `-q`: deliver what is due in the outbox, then exit. */
  runQueue: boolean;
  /** `--outbox list|show ID|retry ID|cancel ID`: inspect the outbox. */
  outbox?: OutboxCommand;
  /** `--outbox-file`: the outbox's KV file. */
  outboxFile?: string;
}

/** What `--outbox` asks for: list the entries, or show, retry or cancel one. */
export type OutboxCommand =
  | { action: "list" }
  | { action: "show" | "retry" | "cancel"; id: string };

/** Short options that take an argument (attached, `-fa@b`, or next, `-f a@b`). */
const WITH_ARGUMENT = new Set([
  ..."fFrNRVaCoOBbAehLpXM",
]);
/** Short options accepted for compatibility and ignored. */
const IGNORED_FLAGS = new Set([..."GImnsUc"]);

/** Long options: name → takes an argument. */
const LONG: Record<string, boolean> = {
  url: true,
  file: true,
  account: true,
  from: true,
  "dsn-notify": true,
  "dsn-return": true,
  "read-recipients": false,
  "read-envelope-from": false,
  "add-received-header": false,
  debug: false,
  verbose: false,
  pretend: false,
  help: false,
  version: false,
  queue: false,
  "queue-on-failure": false,
  outbox: true,
  "outbox-file": true,
};

const usage = (message: string): CliError =>
  new CliError(message, ExitCode.USAGE);

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

function checkText(flag: string, value: string): string {
  if (CONTROL.test(value)) {
    throw usage(`Invalid argument of ${flag}: it contains a control character`);
  }
  return value;
}

/** `-f` takes an address, `<address>`, `Name <address>`, or `<>`. */
function parseSender(flag: string, value: string): string {
  checkText(flag, value);
  const angle = /<([^<>]*)>\s*$/.exec(value);
  const address = (angle ? angle[1]! : value).trim();
  if (/\s/.test(address)) {
    throw usage(`Invalid argument of ${flag}: "${value}" is not an address`);
  }
  return address;
}

function parseNotify(value: string): NonNullable<DsnOptions["notify"]> {
  const words = value.toLowerCase().split(",").map((w) => w.trim());
  if (words.length === 1 && words[0] === "never") return "never";
  const notify: ("success" | "failure" | "delay")[] = [];
  for (const word of words) {
    if (word !== "success" && word !== "failure" && word !== "delay") {
      throw usage(
        `Invalid argument of -N: "${value}" is not "never" or a list of success, failure and delay`,
      );
    }
    if (!notify.includes(word)) notify.push(word);
  }
  return notify;
}

function parseReturn(value: string): NonNullable<DsnOptions["ret"]> {
  const v = value.toLowerCase();
  if (v === "full") return "full";
  if (v === "hdrs" || v === "headers") return "hdrs";
  throw usage(`Invalid argument of -R: "${value}" is not "full" or "hdrs"`);
}

/**
 * Parses the command line of the sendmail command: sendmail(8)'s and msmtp's
 * flags, in getopt style (flags may be clustered, `-ti`; an option's argument
 * may be attached, `-fme@example.com`, or follow, `-f me@example.com`;
 * options and recipients may be mixed; `--` ends the options).
 *
 * Accepted and ignored for compatibility: `-B type`, `-bm`, `-A x`, `-e x`,
 * `-h N`, `-L tag`, `-p proto`, `-X file`, `-M x`, `-o x` (other than
 * `-oi` and `-oR`), `-O option=value` (other than `IgnoreDots`), `-G`, `-I`, `-m`,
 * `-n`, `-s`, `-U`, `-c`, `-d…`.
 *
 * @param args The arguments, without the program name.
 * @returns The parsed flags and recipients.
 * @throws {CliError} With exit status 64 for an unknown flag, a missing or
 * invalid argument, a mode other than `-bm` (daemon, SMTP on standard
 * input) or a queue mode other than `-q`, or queue modes combined.
 *
 * @example What cron runs
 * ```ts
 * import { parseArgs } from "@x/sendmail/cli";
 *
 * const args = parseArgs(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"]);
 * console.log(args.fullName, args.ignoreDots, args.recipients); // CronDaemon true [ "root" ]
 * ```
 */
export function parseArgs(args: readonly string[]): CliArgs {
  const result: CliArgs = {
    recipients: [],
    readRecipients: false,
    readEnvelopeFrom: false,
    ignoreDots: false,
    addReceived: false,
    verbose: false,
    pretend: false,
    help: false,
    version: false,
    queue: false,
    queueOnFailure: false,
    runQueue: false,
  };

  const option = (flag: string, value: string): void => {
    switch (flag) {
      case "f":
      case "r":
      case "from":
        result.from = parseSender(`-${flag}`, value);
        break;
      case "F":
        result.fullName = checkText("-F", value);
        break;
      case "N":
      case "dsn-notify":
        if (value.toLowerCase() === "off") delete result.dsnNotify;
        else result.dsnNotify = parseNotify(value);
        break;
      case "R":
      case "dsn-return":
        if (value.toLowerCase() === "off") delete result.dsnReturn;
        else result.dsnReturn = parseReturn(value);
        break;
      case "V":
        result.envelopeId = checkText("-V", value);
        if (/\s/.test(value) || value === "") {
          throw usage(
            `Invalid argument of -V: "${value}" is not an envelope identifier`,
          );
        }
        break;
      case "a":
      case "account":
        result.account = checkText("-a", value);
        break;
      case "C":
      case "file":
        result.file = checkText("-C", value);
        break;
      case "url":
        result.url = value;
        break;
      case "o":
        // -oi: ignore dots; -oR: add a Received field; -odq (and -odd):
        // queue; -odi, -odb: deliver now. Every other -oX (-oem …) is a
        // sendmail option without meaning here.
        if (value === "i") result.ignoreDots = true;
        else if (value === "R") result.addReceived = true;
        else if (value === "dq" || value === "dd") result.queue = true;
        else if (value === "di" || value === "db") result.queue = false;
        break;
      case "O": {
        const [name = "", setting = "true"] = value.split("=", 2);
        if (name.trim().toLowerCase() === "ignoredots") {
          result.ignoreDots = /^\s*(true|t|yes|y|on|1)?\s*$/i.test(setting);
        }
        break;
      }
      case "b":
        if (value !== "m") {
          throw usage(
            `Unsupported mode -b${value}: only -bm (deliver a message read from standard input) is implemented`,
          );
        }
        break;
      default:
        // -A, -B, -e, -h, -L, -p, -X, -M: accepted and ignored.
        break;
    }
  };

  let i = 0;
  while (i < args.length) {
    const arg = args[i++]!;
    if (arg === "--") {
      result.recipients.push(...args.slice(i));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      const takesValue = LONG[name];
      if (takesValue === undefined) throw usage(`Unknown option --${name}`);
      if (!takesValue) {
        if (eq !== -1) throw usage(`Option --${name} takes no argument`);
        if (name === "read-recipients") result.readRecipients = true;
        else if (name === "read-envelope-from") result.readEnvelopeFrom = true;
        else if (name === "add-received-header") result.addReceived = true;
        else if (name === "debug" || name === "verbose") result.verbose = true;
        else if (name === "pretend") result.pretend = true;
        else if (name === "help") result.help = true;
        else if (name === "version") result.version = true;
        else if (name === "queue") result.queue = true;
        else if (name === "queue-on-failure") result.queueOnFailure = true;
        continue;
      }
      let value: string;
      if (eq !== -1) value = arg.slice(eq + 1);
      else if (i < args.length) value = args[i++]!;
      else throw usage(`Option --${name} needs an argument`);
      if (name === "outbox") {
        result.outbox = parseOutboxCommand(value, args[i]);
        if (result.outbox.action !== "list") i++;
        continue;
      }
      if (name === "outbox-file") {
        result.outboxFile = checkText("--outbox-file", value);
        continue;
      }
      option(name, value);
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      result.recipients.push(arg);
      continue;
    }
    // A cluster of short options: -ti, -fme@example.com, -oem.
    for (let j = 1; j < arg.length; j++) {
      const flag = arg[j]!;
      if (WITH_ARGUMENT.has(flag)) {
        let value: string;
        if (j + 1 < arg.length) value = arg.slice(j + 1);
        else if (i < args.length) value = args[i++]!;
        else throw usage(`Option -${flag} needs an argument`);
        option(flag, value);
        break;
      }
      if (flag === "t") result.readRecipients = true;
      else if (flag === "i") result.ignoreDots = true;
      else if (flag === "v") result.verbose = true;
      else if (flag === "P") result.pretend = true;
      else if (flag === "d") {
        // msmtp's -d (debug), or sendmail's -dX.Y debug levels.
        result.verbose = true;
        break;
      } else if (flag === "q") {
        // -q and -qf: one queue run, in the foreground.
        const rest = arg.slice(j + 1);
        if (rest !== "" && rest !== "f") {
          throw usage(
            `Unsupported option -q${rest}: only -q (deliver what is due, once) is implemented`,
          );
        }
        result.runQueue = true;
        break;
      } else if (flag === "S") {
        throw usage("Unsupported option -S (server information)");
      } else if (!IGNORED_FLAGS.has(flag)) {
        throw usage(`Unknown option -${flag}`);
      }
    }
  }
  for (const recipient of result.recipients) {
    checkText("a recipient", recipient);
  }
  checkQueueModes(result);
  return result;
}
