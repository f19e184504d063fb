import type { Reply } from "./reply.ts";

/**
 * The ESMTP extensions a server offered in its EHLO reply (RFC 5321 §4.1.1.1).
 * A client parses them anew after STARTTLS; the old set is thrown away.
 *
 * @example Reading what a server offers
 * ```ts
 * import { Capabilities } from "@x/sendmail";
 * const caps = Capabilities.parse({
 *   code: 250,
 *   lines: ["mx.example.com greets you", "PIPELINING", "SIZE 10240000", "AUTH PLAIN LOGIN"],
 *   text: "",
 * });
 * console.log(caps.pipelining, caps.size, caps.auth); // true 10240000 ["PLAIN", "LOGIN"]
 * ```
 */
export class Capabilities {
  /** The server's name: the first word of the EHLO reply. */
  readonly domain: string;
  #extensions: Map<string, string[]>;

  /**
   * Creates a set from keyword → parameters pairs (keywords are case-insensitive).
   *
   * @param domain The server's name.
   * @param extensions Extension keywords with their parameters.
   */
  constructor(domain = "", extensions: Iterable<[string, string[]]> = []) {
    this.domain = domain;
    this.#extensions = new Map();
    for (const [keyword, params] of extensions) {
      this.#extensions.set(keyword.toUpperCase(), params);
    }
  }

  /**
   * Parses an EHLO reply. The old `AUTH=` form is merged into `AUTH`.
   *
   * @param reply The 250 reply to EHLO.
   * @returns The capabilities it lists.
   */
  static parse(reply: Reply): Capabilities {
    const [first = "", ...rest] = reply.lines;
    const extensions = new Map<string, string[]>();
    for (const line of rest) {
      const words = line.trim().split(/\s+/).filter((word) => word !== "");
      const [head] = words;
      if (head === undefined) continue;
      let keyword = head.toUpperCase();
      let params = words.slice(1);
      if (keyword.startsWith("AUTH=")) {
        // Pre-RFC 4954 servers advertise "AUTH=LOGIN PLAIN".
        params = [head.slice(5), ...params].filter((word) => word !== "");
        keyword = "AUTH";
      }
      const known = extensions.get(keyword) ?? [];
      for (const param of params) {
        if (!known.includes(param)) known.push(param);
      }
      extensions.set(keyword, known);
    }
    return new Capabilities(first.trim().split(/\s+/)[0] ?? "", extensions);
  }

  /**
   * Tells whether an extension was offered.
   *
   * @param keyword The extension keyword, any case.
   * @returns Whether the server listed it.
   */
  has(keyword: string): boolean {
    return this.#extensions.has(keyword.toUpperCase());
  }

  /**
   * The parameters of an extension.
   *
   * @param keyword The extension keyword, any case.
   * @returns Its parameters, or `undefined` when not offered.
   */
  get(keyword: string): readonly string[] | undefined {
    return this.#extensions.get(keyword.toUpperCase());
  }

  /** Every offered keyword, upper case. */
  get keywords(): string[] {
    return [...this.#extensions.keys()];
  }

  /** The SASL mechanisms offered, upper case (from `AUTH` and `AUTH=`). */
  get auth(): string[] {
    return (this.get("AUTH") ?? []).map((m) => m.toUpperCase());
  }

  /**
   * The maximum message size of RFC 1870: a number of octets, `0` when the
   * server declared no fixed limit, `undefined` when SIZE was not offered.
   */
  get size(): number | undefined {
    const params = this.get("SIZE");
    if (params === undefined) return undefined;
    // Only digits are a SIZE (RFC 1870 §4): "1e3" or "0x10" is no limit.
    const text = params[0] ?? "0";
    if (!/^[0-9]{1,15}$/.test(text)) return 0;
    return Number(text);
  }

  /** Command pipelining (RFC 2920). */
  get pipelining(): boolean {
    return this.has("PIPELINING");
  }
  /** STARTTLS (RFC 3207). */
  get startTls(): boolean {
    return this.has("STARTTLS");
  }
  /** 8BITMIME (RFC 6152). */
  get eightBitMime(): boolean {
    return this.has("8BITMIME");
  }
  /** SMTPUTF8 (RFC 6531). */
  get smtpUtf8(): boolean {
    return this.has("SMTPUTF8");
  }
  /** ENHANCEDSTATUSCODES (RFC 2034). */
  get enhancedStatusCodes(): boolean {
    return this.has("ENHANCEDSTATUSCODES");
  }
  /** Delivery status notifications (RFC 3461). */
  get dsn(): boolean {
    return this.has("DSN");
  }
  /** CHUNKING / BDAT (RFC 3030). */
  get chunking(): boolean {
    return this.has("CHUNKING");
  }
  /** REQUIRETLS (RFC 8689). */
  get requireTls(): boolean {
    return this.has("REQUIRETLS");
  }

  /** A plain object for logs and `JSON.stringify`. */
  toJSON(): { domain: string; extensions: Record<string, string[]> } {
    return {
      domain: this.domain,
      extensions: Object.fromEntries(this.#extensions),
    };
  }
}
