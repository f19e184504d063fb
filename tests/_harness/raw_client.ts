/**
 * A minimal SMTP client for tests of the capture server: raw writes, one
 * reply at a time, STARTTLS done the way Deno allows (one read at a time,
 * locks released before `Deno.startTls`).
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class RawClient {
  #conn: Deno.Conn;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer = "";
  #eof = false;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#reader = conn.readable.getReader();
  }

  static async connect(
    port: number,
    tls?: { caCert: string; hostname?: string },
  ): Promise<RawClient> {
    if (tls) {
      return new RawClient(
        await Deno.connectTls({
          hostname: tls.hostname ?? "127.0.0.1",
          port,
          caCerts: [tls.caCert],
        }),
      );
    }
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    // Without it, the first write after a TLS handshake waits 40 ms for an ACK.
    conn.setNoDelay(true);
    return new RawClient(conn);
  }

  /** Writes a string or bytes as they are. */
  async send(data: string | Uint8Array): Promise<void> {
    let bytes = typeof data === "string" ? encoder.encode(data) : data;
    while (bytes.length > 0) {
      bytes = bytes.subarray(await this.#conn.write(bytes));
    }
  }

  /** Reads once from the socket; `null` at EOF. */
  async readOnce(): Promise<string | null> {
    if (this.#buffer !== "") {
      const out = this.#buffer;
      this.#buffer = "";
      return out;
    }
    const { value, done } = await this.#reader.read();
    if (done) {
      this.#eof = true;
      return null;
    }
    return decoder.decode(value);
  }

  /** Reads one complete reply (up to a `ddd ` line); its lines without CRLF. */
  async reply(): Promise<string[]> {
    const lines: string[] = [];
    while (true) {
      const nl = this.#buffer.indexOf("\r\n");
      if (nl >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 2);
        lines.push(line);
        if (/^\d{3}( |$)/.test(line)) return lines;
        continue;
      }
      const { value, done } = await this.#reader.read();
      if (done) {
        this.#eof = true;
        throw new Error(
          `Connection closed before a full reply: ${JSON.stringify(lines)}`,
        );
      }
      this.#buffer += decoder.decode(value);
    }
  }

  /** Sends a command line and returns its reply. */
  async command(line: string): Promise<string[]> {
    await this.send(line + "\r\n");
    return await this.reply();
  }

  /** Reads until the server closes; returns everything read. */
  async readToEnd(): Promise<string> {
    let out = this.#buffer;
    this.#buffer = "";
    while (!this.#eof) {
      const { value, done } = await this.#reader.read();
      if (done) break;
      out += decoder.decode(value);
    }
    this.#eof = true;
    return out;
  }

  /** Upgrades to TLS after a 220 to STARTTLS. */
  async startTls(caCert: string, hostname = "localhost"): Promise<void> {
    if (this.#buffer !== "") throw new Error("Bytes after the 220 to STARTTLS");
    this.#reader.releaseLock();
    const tls = await Deno.startTls(this.#conn as Deno.TcpConn, {
      hostname,
      caCerts: [caCert],
    });
    await tls.handshake();
    this.#conn = tls;
    this.#reader = tls.readable.getReader();
  }

  /** Whether the server has closed. */
  get eof(): boolean {
    return this.#eof;
  }

  /** The underlying connection. */
  get conn(): Deno.Conn {
    return this.#conn;
  }

  /** Closes the socket. */
  close(): void {
    try {
      this.#reader.releaseLock();
    } catch {
      // already released
    }
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
