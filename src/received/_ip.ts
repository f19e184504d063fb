/**
 * IP addresses as `Received:` fields write them: `192.0.2.1`, `[192.0.2.1]`,
 * `[IPv6:2001:db8::1]`, `[::ffff:127.0.0.1]`, with a port glued on
 * (`[192.0.2.1]:25`, `192.0.2.1:25`, Exim's old `192.0.2.1.25`) or an IPv6
 * zone (`fe80::1%6`).
 *
 * @module
 */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** Whether `text` is a dotted-quad IPv4 address. */
export function isIpv4(text: string): boolean {
  const m = IPV4.exec(text);
  return m !== null && m.slice(1).every((part) => Number(part) <= 255);
}

/** Whether `text` is an IPv6 address in text form (RFC 4291 §2.2), zone allowed. */
export function isIpv6(text: string): boolean {
  const percent = text.indexOf("%");
  if (percent !== -1) {
    if (!/^[A-Za-z0-9_.-]+$/.test(text.slice(percent + 1))) return false;
    text = text.slice(0, percent);
  }
  if (!text.includes(":")) return false;
  let groups = 8;
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    // An embedded IPv4 address takes the last two groups.
    if (!isIpv4(tail)) return false;
    text = text.slice(0, lastColon + 1) + "0";
    groups = 7;
  }
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const parts = halves.map((half) => half === "" ? [] : half.split(":"));
  for (const part of parts) {
    if (!part.every((group) => HEX_GROUP.test(group))) return false;
  }
  const count = parts.reduce((n, part) => n + part.length, 0);
  return halves.length === 2 ? count < groups : count === groups;
}

/**
 * Reads an address as a `Received:` field may write it.
 *
 * @param text The token: bracketed or not, with a port, an `IPv6:` tag.
 * @returns The address without brackets, tag or port (IPv6 in lower case),
 * or `undefined` when the token is not an address.
 */
export function parseIp(text: string): string | undefined {
  let t = text.trim();
  if (t.startsWith("[")) {
    const close = t.indexOf("]");
    if (close === -1) return undefined;
    const after = t.slice(close + 1);
    // A port after the literal: "[192.0.2.1]:25".
    if (after !== "" && !/^[:.]\d{1,5}$/.test(after)) return undefined;
    t = t.slice(1, close).trim();
  }
  if (/^ipv6:/i.test(t)) t = t.slice(5);
  if (isIpv4(t)) return t;
  if (isIpv6(t)) return t.toLowerCase();
  // IPv4 with a port: "192.0.2.1:25", or Exim 3's "192.0.2.1.25".
  const port = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})[:.]\d{1,5}$/.exec(t);
  if (port && isIpv4(port[1]!)) return port[1]!;
  return undefined;
}

/** Whether `ip` (as {@linkcode parseIp} returns it) is a loopback address. */
export function isLoopback(ip: string): boolean {
  return /^127\./.test(ip) || ip === "::1" || /^::ffff:127\./.test(ip);
}
