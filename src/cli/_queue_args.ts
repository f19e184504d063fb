/**
 * The queue flags of the sendmail command (`-odq`/`--queue`,
 * `--queue-on-failure`, `-q`, `--outbox …`), checked once the command line
 * is parsed.
 *
 * @module
 */
import type { CliArgs, OutboxCommand } from "./parse_args.ts";
import { CliError } from "./cli_error.ts";
import { hasControl } from "../protocol/_control.ts";
import { ExitCode } from "./exit_code.ts";

const usage = (message: string): CliError =>
  new CliError(message, ExitCode.USAGE);

/**
 * Reads `--outbox ACTION [ID]`.
 *
 * @param action The argument of `--outbox`.
 * @param id The argument after it (the entry's ID for show, retry, cancel).
 * @returns The command.
 * @throws {CliError} 64: an unknown action, a missing or unusable ID.
 */
export function parseOutboxCommand(
  action: string,
  id: string | undefined,
): OutboxCommand {
  if (action === "list") return { action };
  if (action === "show" || action === "retry" || action === "cancel") {
    if (id === undefined || id === "" || id.startsWith("-")) {
      throw usage(`Option --outbox ${action} needs an entry ID`);
    }
    if (hasControl(id)) {
      throw usage(
        `Invalid argument of --outbox ${action}: it contains a control character`,
      );
    }
    return { action, id };
  }
  throw usage(
    `Invalid argument of --outbox: "${action}" is not list, show, retry or cancel`,
  );
}

/**
 * The queue modes exclude each other, and `-q` and `--outbox` take no
 * recipient.
 *
 * @param args The parsed command line.
 * @throws {CliError} 64 when they are combined.
 */
export function checkQueueModes(args: CliArgs): void {
  const modes = [
    args.runQueue && "-q",
    args.outbox && "--outbox",
    args.queue && "--queue",
    args.queueOnFailure && "--queue-on-failure",
  ].filter(Boolean);
  if (modes.length > 1) {
    throw usage(`Options ${modes.join(" and ")} cannot be combined`);
  }
  if ((args.runQueue || args.outbox) && args.recipients.length > 0) {
    throw usage(
      `Option ${args.runQueue ? "-q" : "--outbox"} takes no recipient`,
    );
  }
}
