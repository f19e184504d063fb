/**
 * A small SMTP server on the in-memory transport, for the pool's fault
 * tests: it speaks EHLO, MAIL, RCPT, DATA, BDAT, RSET, NOOP and QUIT,
 * records what each connection delivered, and lets a test replace any
 * reply, close or reset the connection at any command.
 *
 * @module
 */

import {
  type MemoryServerConnection,
  type MemoryTransport,
  memoryTransport,
} from "../../testing.ts";

/** What a hook may do instead of the default reply. */
export type Fault =
  // Send this (CRLF added), no effect; `later`: then, after `ms`, send
  // `reply` and close (a server ending an idle connection).
  | { reply: string; later?: { ms: number; reply: string } }
  | { close: true } // FIN, no reply
  | { reset: true } // the connection fails
  | { replyThenClose: string }; // send this, then FIN

/** Where a command came in. */
export interface At {
  /** The connection, from 1. */
  connection: number;
  /** Messages this connection delivered before. */
  delivered: number;
  /** The command's verb ("MAIL", "DATA_END" after the data). */
  verb: string;
  /** The line as received. */
  line: string;
}

/** A message the server accepted. */
export interface Delivered {
  connection: number;
  text: string;
}

/** A memory transport whose connections run a small SMTP server. */
export interface MemorySmtp {
  readonly transport: MemoryTransport;
  /** Messages accepted, in order. */
  readonly delivered: Delivered[];
  /** Every command line of every connection, with its connection. */
  readonly lines: { connection: number; line: string }[];
  /** Message data read (accepted or not), per connection. */
  readonly dataRead: { connection: number; text: string }[];
}

const decoder = new TextDecoder();

/**
 * Starts the server's script.
 *
 * @param extensions The EHLO lines after the name (`PIPELINING`, `CHUNKING`).
 * @param hook Replaces what the server does for one command.
 * @param idle Runs when the connection has nothing to read: after each
 * delivered message, the test may close or reset the connection.
 */
export function memorySmtp(
  extensions: string[],
  hook: (at: At) => Fault | undefined | Promise<Fault | undefined> = () =>
    undefined,
): MemorySmtp {
  const delivered: Delivered[] = [];
  const lines: { connection: number; line: string }[] = [];
  const dataRead: { connection: number; text: string }[] = [];
  let connections = 0;
  const transport = memoryTransport(async (server) => {
    const connection = ++connections;
    let count = 0;
    /** Applies a fault; returns true when the session ends. */
    const apply = (fault: Fault | undefined): boolean | undefined => {
      if (!fault) return undefined;
      if ("reply" in fault) {
        server.write(`${fault.reply}\r\n`);
        const { later } = fault;
        if (later) {
          setTimeout(() => {
            server.write(`${later.reply}\r\n`);
            server.close();
          }, later.ms);
        }
        return false;
      }
      if ("replyThenClose" in fault) {
        server.write(`${fault.replyThenClose}\r\n`);
        server.close();
        return true;
      }
      if ("close" in fault) server.close();
      else server.reset();
      return true;
    };
    const at = (verb: string, line: string): At => ({
      connection,
      delivered: count,
      verb,
      line,
    });
    const ended = apply(await hook(at("connect", "")));
    if (ended) return;
    if (ended === undefined) server.write("220 mx.test ESMTP\r\n");
    let body: string[] = [];
    while (true) {
      const line = await server.readLine();
      if (line === null) return;
      lines.push({ connection, line });
      const verb = /^(MAIL|RCPT|DATA|BDAT|RSET|NOOP|QUIT|EHLO)/i.exec(line)
        ?.[1]?.toUpperCase() ?? "OTHER";
      const result = apply(await hook(at(verb, line)));
      if (result) return;
      if (result === false) {
        // A refused BDAT chunk is still read.
        const size = /^BDAT (\d+)/i.exec(line)?.[1];
        if (size) await server.readBytes(Number(size));
        continue;
      }
      switch (verb) {
        case "EHLO": {
          const all = ["mx.test", ...extensions];
          server.write(
            all.map((l, i) => `250${i < all.length - 1 ? "-" : " "}${l}\r\n`)
              .join(""),
          );
          break;
        }
        case "MAIL":
        case "RCPT":
        case "RSET":
        case "NOOP":
          if (verb === "RSET") body = [];
          server.write("250 ok\r\n");
          break;
        case "QUIT":
          server.write("221 bye\r\n");
          server.close();
          return;
        case "DATA": {
          server.write("354 go\r\n");
          const data = await server.readData();
          if (data === null) return;
          dataRead.push({ connection, text: decoder.decode(data) });
          if (await end(decoder.decode(data))) return;
          break;
        }
        case "BDAT": {
          const [, size, last] = /^BDAT (\d+)( LAST)?/i.exec(line)!;
          const chunk = await server.readBytes(Number(size));
          if (chunk === null) return;
          body.push(decoder.decode(chunk));
          if (!last) {
            server.write("250 chunk ok\r\n");
            break;
          }
          const text = body.join("");
          body = [];
          dataRead.push({ connection, text });
          if (await end(text)) return;
          break;
        }
        default:
          server.write("500 unknown\r\n");
      }
    }

    async function end(text: string): Promise<boolean> {
      const result = apply(await hook(at("DATA_END", "")));
      if (result) return true;
      if (result === undefined) {
        delivered.push({ connection, text });
        count++;
        server.write("250 queued\r\n");
      }
      return false;
    }
  });
  return { transport, delivered, lines, dataRead };
}

/** Lines of one connection. */
export function linesOf(
  smtp: MemorySmtp,
  connection: number,
): string[] {
  return smtp.lines.filter((l) => l.connection === connection).map((l) =>
    l.line
  );
}

export type { MemoryServerConnection };
