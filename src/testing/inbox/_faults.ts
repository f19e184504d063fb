/**
 * Fault injection for the inbox (Mailpit's "chaos"): the next N messages
 * get a chosen reply at a chosen command, through the capture server's
 * hooks, wrapped around the hooks the caller gave.
 *
 * Counting: a fault at `connect`, `EHLO`, `AUTH` or `MAIL` takes one from
 * its count each time that command comes; a fault at `RCPT`, `DATA` or
 * `DATA_END` takes one per message: it is given to a transaction when its
 * MAIL comes, and then refuses every RCPT of it (or its DATA, or BDAT, or
 * the end of its data).
 *
 * @module
 */

import type {
  HookAction,
  HookContext,
  HookVerb,
  TestServerHook,
  TestServerHooks,
} from "../test_server_options.ts";

/** The commands a fault can be set at. */
export const FAULT_COMMANDS = [
  "connect",
  "EHLO",
  "AUTH",
  "MAIL",
  "RCPT",
  "DATA",
  "DATA_END",
] as const;

/** A command a fault can be set at. */
export type FaultCommand = typeof FAULT_COMMANDS[number];

/** A fault waiting for its messages. */
export interface Fault {
  /** Its number, to remove it. */
  id: number;
  /** Where it strikes. */
  command: FaultCommand;
  /** The reply line (`451 4.3.0 Try again later`). */
  reply: string;
  /** How many more times (connections, commands or messages) it strikes. */
  remaining: number;
}

/** What a fault is asked with, before it is checked. */
export interface FaultInit {
  command: unknown;
  reply: unknown;
  count?: unknown;
}

const PER_MESSAGE = new Set<FaultCommand>(["RCPT", "DATA", "DATA_END"]);
const REPLY = /^[45][0-5][0-9](?: [\x20-\x7e]{0,200})?$/;
/** Faults waiting at once, at most. */
const MAX_FAULTS = 100;
/** Connections whose open transaction is remembered, at most. */
const MAX_TRANSACTIONS = 1024;

/** The faults of an inbox, and the hooks that apply them. */
export class Faults {
  #faults: Fault[] = [];
  #next = 1;
  /** Per connection: the fault its open transaction was given. */
  #doomed = new Map<number, { command: FaultCommand; reply: string }>();
  #changed: () => void;

  /** @param changed Called whenever the list changes. */
  constructor(changed: () => void) {
    this.#changed = changed;
  }

  /** The faults waiting, oldest first. */
  list(): Fault[] {
    return this.#faults.map((fault) => ({ ...fault }));
  }

  /**
   * Adds a fault.
   *
   * @param init The command, the reply line and the count (default 1).
   * @returns The fault.
   * @throws {TypeError} On an unknown command or a reply that is not one
   * 4xx/5xx line of printable ASCII.
   * @throws {RangeError} On a count that is not a whole number from 1 to
   * 1000, or when 100 faults are waiting already.
   */
  add(init: FaultInit): Fault {
    const { command, reply } = init;
    const count = init.count ?? 1;
    if (!FAULT_COMMANDS.includes(command as FaultCommand)) {
      throw new TypeError(
        `Cannot add fault: unknown command ${JSON.stringify(command)} (one of ${
          FAULT_COMMANDS.join(", ")
        })`,
      );
    }
    if (typeof reply !== "string" || !REPLY.test(reply)) {
      throw new TypeError(
        'Cannot add fault: the reply must be one line with a 4xx or 5xx code, such as "451 4.3.0 Try again later"',
      );
    }
    if (
      !Number.isInteger(count) || (count as number) < 1 ||
      (count as number) > 1000
    ) {
      throw new RangeError(
        "Cannot add fault: count must be a whole number from 1 to 1000",
      );
    }
    if (this.#faults.length >= MAX_FAULTS) {
      throw new RangeError(
        `Cannot add fault: ${MAX_FAULTS} are waiting already`,
      );
    }
    const fault: Fault = {
      id: this.#next++,
      command: command as FaultCommand,
      reply,
      remaining: count as number,
    };
    this.#faults.push(fault);
    this.#changed();
    return { ...fault };
  }

  /**
   * Removes one fault, or all.
   *
   * @param id The fault's number; all when absent.
   * @returns Whether anything was removed.
   */
  remove(id?: number): boolean {
    const before = this.#faults.length;
    this.#faults = id === undefined
      ? []
      : this.#faults.filter((fault) => fault.id !== id);
    if (this.#faults.length === before) return false;
    this.#changed();
    return true;
  }

  /** Takes one strike of the oldest fault at one of `commands`. */
  #take(commands: ReadonlySet<FaultCommand>): Fault | undefined {
    const fault = this.#faults.find((f) => commands.has(f.command));
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining <= 0) {
      this.#faults.splice(this.#faults.indexOf(fault), 1);
    }
    this.#changed();
    return fault;
  }

  /**
   * The capture server's hooks: the faults first, then `hooks`.
   *
   * @param hooks The caller's own hooks.
   * @returns Hooks for every verb the faults need, and the caller's others.
   */
  hooks(hooks: TestServerHooks = {}): TestServerHooks {
    const out: TestServerHooks = { ...hooks };
    const then = (verb: HookVerb, context: HookContext) =>
      hooks[verb]?.(context) ?? "default";
    const refuse = (reply: string): HookAction =>
      reply.startsWith("421") ? [{ reply }, { close: true }] : { reply };
    const direct = (verb: FaultCommand): TestServerHook => (context) => {
      const fault = this.#take(new Set([verb]));
      return fault ? refuse(fault.reply) : then(verb, context);
    };
    out.connect = direct("connect");
    out.EHLO = direct("EHLO");
    out.AUTH = direct("AUTH");
    out.MAIL = (context) => {
      this.#doomed.delete(context.connection);
      const fault = this.#take(new Set(["MAIL"]));
      if (fault) return refuse(fault.reply);
      const later = this.#take(PER_MESSAGE);
      if (later) {
        this.#doomed.set(context.connection, {
          command: later.command,
          reply: later.reply,
        });
        if (this.#doomed.size > MAX_TRANSACTIONS) {
          this.#doomed.delete(this.#doomed.keys().next().value!);
        }
      }
      return then("MAIL", context);
    };
    const doomed = (
      verb: HookVerb,
      command: FaultCommand,
      end: boolean,
    ): TestServerHook =>
    (context) => {
      const doom = this.#doomed.get(context.connection);
      if (doom?.command === command) {
        if (end) this.#doomed.delete(context.connection);
        return refuse(doom.reply);
      }
      return then(verb, context);
    };
    out.RCPT = doomed("RCPT", "RCPT", false);
    out.DATA = doomed("DATA", "DATA", true);
    out.BDAT = doomed("BDAT", "DATA", true);
    out.DATA_END = doomed("DATA_END", "DATA_END", true);
    const forget = (verb: HookVerb): TestServerHook => (context) => {
      this.#doomed.delete(context.connection);
      return then(verb, context);
    };
    out.RSET = forget("RSET");
    out.QUIT = forget("QUIT");
    return out;
  }
}
