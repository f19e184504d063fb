/**
 * Loopback port helpers.
 *
 * @module
 */

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago: listens on
 * port 0, reads the port the system chose and closes the listener. Another
 * process may take it before you do; servers started by these helpers
 * retry or bind port 0 themselves.
 *
 * @returns A port number.
 * @example Picking a port
 * ```ts ignore
 * const port = freePort();
 * ```
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    return (listener.addr as Deno.NetAddr).port;
  } finally {
    listener.close();
  }
}

/**
 * Polls until a TCP connection to `hostname:port` succeeds, then closes it.
 *
 * @param hostname The address to connect to.
 * @param port The port.
 * @param options `timeoutMs` (default 5000), and `alive` returning `false`
 * when waiting is pointless (the server process died).
 * @throws {Error} When nothing listens in time, or `alive()` turns false.
 */
export async function waitForPort(
  hostname: string,
  port: number,
  options: { timeoutMs?: number; alive?: () => boolean } = {},
): Promise<void> {
  const { timeoutMs = 5000, alive = () => true } = options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`Nothing listens on ${hostname}:${port}`);
    try {
      const conn = await Deno.connect({ hostname, port });
      conn.close();
      return;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(
    `Timed out after ${timeoutMs} ms waiting for ${hostname}:${port} to listen`,
    { cause: last },
  );
}

/**
 * Whether a socket listens on 127.0.0.1:port, read from /proc/net/tcp so
 * no probe connection shows up in smtp-sink's session counter. Where
 * /proc is missing it answers "yes" and the first client may race. Used
 * for servers (smtp-sink, Postfix) that count or log every connection.
 */
export function listening(port: number): boolean {
  let table: string;
  try {
    table = Deno.readTextFileSync("/proc/net/tcp");
  } catch {
    return true;
  }
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return table.split("\n").some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[1] === local && fields[3] === "0A";
  });
}
