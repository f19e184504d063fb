/**
 * Whether a host name is a loopback address: `localhost`, 127.0.0.0/8 or
 * ::1. Credentials may cross a connection without TLS only to such a host.
 *
 * @param hostname The host name or IP literal (IPv6 with or without brackets).
 * @returns Whether it is loopback.
 */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (host === "localhost" || host === "localhost.") return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) {
    return v4.slice(1).every((part) => Number(part) <= 255) && v4[1] === "127";
  }
  if (host.includes(":")) {
    try {
      // The URL parser normalises IPv6 literals ("0:0::1" → "[::1]").
      return new URL(`http://[${host}]/`).hostname === "[::1]";
    } catch {
      return false;
    }
  }
  return false;
}
