/**
 * Declaring which external tools a test needs. Locally a test whose tool is
 * missing is skipped with the reason printed; with
 * `SENDMAIL_INTEROP=required` (CI) it fails instead.
 *
 * @module
 */

import { dovecotInstalled } from "./dovecot.ts";
import { eximBinary } from "./exim.ts";
import { harakaCommand } from "./haraka.ts";
import { openSmtpdBinary } from "./opensmtpd.ts";
import { postfixDaemonDirectory } from "./postfix.ts";
import { canMountPrivately } from "./unpacked.ts";
import { workerdBinary } from "./workerd.ts";

/** A tool an interop test can require. Unknown names are looked up on PATH. */
export type Requirement =
  | "smtp-sink"
  | "smtp-source"
  | "aiosmtpd"
  | "python3"
  | "swaks"
  | "msmtp"
  | "openssl"
  | "git-send-email"
  | "postfix-smtpd"
  | "root"
  | "dovecot"
  | "dovecot-lmtp"
  | "exim"
  | "opensmtpd"
  | "haraka"
  | "workerd"
  // deno-lint-ignore ban-types
  | (string & {});

/** The Python that has Debian's `python3-aiosmtpd`. */
export const PYTHON = "/usr/bin/python3";

const HINTS: Record<string, string> = {
  "smtp-sink": "apt-get install postfix",
  "smtp-source": "apt-get install postfix",
  aiosmtpd: "apt-get install python3-aiosmtpd",
  python3: "apt-get install python3",
  swaks: "apt-get install swaks",
  msmtp: "apt-get install msmtp",
  openssl: "apt-get install openssl",
  "git-send-email": "apt-get install git-email",
  "postfix-smtpd": "apt-get install postfix, and run as root",
  root: "run as root",
  ip: "apt-get install iproute2",
  unshare: "apt-get install util-linux",
  dovecot: "apt-get install dovecot-core, and run as root",
  "dovecot-lmtp": "apt-get install dovecot-core dovecot-lmtpd, and run as root",
  exim: "run .ci/install_servers as root (unpacks exim4-daemon-light)",
  opensmtpd: "run .ci/install_servers as root (unpacks opensmtpd)",
  haraka: "run .ci/install_servers (npm Haraka into a private prefix)",
  dot: "apt-get install graphviz",
  workerd: "run bash .ci/install_runtimes (npm workerd into .ci/_runtimes)",
};

const found = new Map<string, string | undefined>();

/**
 * Finds an executable on PATH, then in /usr/sbin and /sbin (where postfix
 * puts smtp-sink, often outside a user's PATH).
 *
 * @param name The executable's name.
 * @returns Its absolute path, or `undefined`.
 */
export function findBinary(name: string): string | undefined {
  if (found.has(name)) return found.get(name);
  const dirs = [
    ...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean),
    "/usr/sbin",
    "/sbin",
  ];
  let path: string | undefined;
  for (const dir of dirs) {
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && (info.mode ?? 0o111) & 0o111) {
        path = `${dir}/${name}`;
        break;
      }
    } catch {
      // not here
    }
  }
  found.set(name, path);
  return path;
}

function runs(command: string, args: string[]): boolean {
  try {
    return new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

const reasons = new Map<string, string | undefined>();

/**
 * Tells why a requirement is not met.
 *
 * @param requirement The tool.
 * @returns `undefined` when it is available, else the reason with an
 * install hint.
 * @example Branching on a tool
 * ```ts ignore
 * if (missing("swaks") === undefined) { ... }
 * ```
 */
export function missing(requirement: Requirement): string | undefined {
  if (reasons.has(requirement)) return reasons.get(requirement);
  let ok: boolean;
  switch (requirement) {
    case "aiosmtpd":
      ok = runs(PYTHON, ["-c", "import aiosmtpd"]);
      break;
    case "postfix-smtpd":
      ok = postfixDaemonDirectory() !== undefined && Deno.uid() === 0 &&
        findBinary("postcat") !== undefined;
      break;
    case "root":
      ok = Deno.uid() === 0;
      break;
    case "dovecot":
    case "dovecot-lmtp":
      ok = dovecotInstalled(requirement === "dovecot-lmtp") &&
        Deno.uid() === 0;
      break;
    case "exim":
      ok = eximBinary() !== undefined && canMountPrivately();
      break;
    case "opensmtpd":
      ok = openSmtpdBinary() !== undefined && canMountPrivately();
      break;
    case "haraka":
      ok = harakaCommand() !== undefined;
      break;
    case "workerd":
      ok = workerdBinary() !== undefined;
      break;
    case "python3":
      ok = runs(PYTHON, ["-c", "pass"]);
      break;
    case "git-send-email": {
      const git = findBinary("git");
      let execPath = "";
      if (git) {
        try {
          const out = new Deno.Command(git, {
            args: ["--exec-path"],
            stdin: "null",
            stderr: "null",
          }).outputSync();
          execPath = new TextDecoder().decode(out.stdout).trim();
        } catch {
          // no git
        }
      }
      ok = execPath !== "" && findIn(execPath, "git-send-email");
      break;
    }
    default:
      ok = findBinary(requirement) !== undefined;
  }
  const hint = HINTS[requirement];
  const reason = ok
    ? undefined
    : `${requirement} is not installed${hint ? ` (${hint})` : ""}`;
  reasons.set(requirement, reason);
  return reason;
}

function findIn(dir: string, name: string): boolean {
  try {
    return Deno.statSync(`${dir}/${name}`).isFile;
  } catch {
    return false;
  }
}

/** Whether `SENDMAIL_INTEROP=required`: missing tools fail tests. */
export function interopRequired(): boolean {
  return Deno.env.get("SENDMAIL_INTEROP") === "required";
}

/** A test definition that names the external tools it needs. */
export type InteropTestDefinition = Deno.TestDefinition & {
  /** The tools the test runs; see {@linkcode Requirement}. */
  requires: Requirement[];
};

/**
 * Turns a test definition needing external tools into one for `Deno.test`:
 * unchanged when every tool is there; otherwise ignored with the reason
 * printed, or — when `SENDMAIL_INTEROP=required` — failing with the reason.
 *
 * @param definition The test, with `requires` listing its tools.
 * @returns The definition to pass to `Deno.test`.
 * @example An interop test
 * ```ts ignore
 * Deno.test(interop({
 *   name: "SmtpClient.send delivers a message when the server is smtp-sink",
 *   requires: ["smtp-sink"],
 *   async fn() {
 *     await using sink = await startSmtpSink();
 *     // ...
 *   },
 * }));
 * ```
 */
export function interop(
  definition: InteropTestDefinition,
): Deno.TestDefinition {
  const { requires, ...test } = definition;
  const why = requires.map(missing).filter((r) => r !== undefined);
  if (why.length === 0) return test;
  const reason = why.join("; ");
  if (interopRequired()) {
    return {
      ...test,
      fn() {
        throw new Error(
          `Cannot run interop test with SENDMAIL_INTEROP=required: ${reason}`,
        );
      },
    };
  }
  console.warn(`ignoring "${test.name}": ${reason}`);
  return { ...test, ignore: true };
}
