/**
 * Ports that hosting platforms block, and how to tell the platform from
 * what its runtime exposes (never by probing the network). Pure: the
 * snapshot comes from `readPlatformSnapshot()` in
 * `src/transport/_platform_snapshot.ts`.
 *
 * | platform | detected by | blocked |
 * |---|---|---|
 * | Cloudflare Workers | `navigator.userAgent === "Cloudflare-Workers"` | 25 |
 * | Supabase Edge Functions | the edge runtime's globals and `SB_EXECUTION_ID` or `SB_REGION` (hosted) | 25, 587 |
 * | Deno Deploy | `DENO_DEPLOY`, `DENO_DEPLOY_BUILD_ID` or `DENO_DEPLOYMENT_ID` | none documented |
 * | Vercel | `VERCEL=1`, `VERCEL_ENV` not `"development"` | 25 |
 *
 * Supabase sets `DENO_DEPLOYMENT_ID` too, so it is checked first. Deno
 * Deploy Classic (shut down in July 2026) blocked 25, 465 and 587; the
 * Deno Deploy of 2025 on documents no block, and a block wrongly assumed
 * would refuse mail that goes through, so none is assumed there.
 *
 * @module
 */

import { SmtpError } from "../protocol/smtp_error.ts";
import { printable } from "../protocol/_control.ts";
import type { PlatformSnapshot } from "../transport/_platform_snapshot.ts";

/** A platform recognised from its runtime. */
export interface EdgePlatform {
  /** Its name, for messages ("Cloudflare Workers"). */
  name: string;
  /** The outgoing ports it blocks. */
  blockedPorts: readonly number[];
}

/** A connection a platform would block. */
export interface PortBlock {
  /** The platform's name. */
  platform: string;
  /** The port asked for. */
  port: number;
  /** Every port the platform blocks. */
  blockedPorts: readonly number[];
  /** The submission ports that are not blocked there, in order of preference. */
  alternatives: readonly number[];
}

/** Submission ports providers offer, and the TLS each one speaks. */
const SUBMISSION_PORTS: readonly { port: number; tls: string }[] = [
  { port: 465, tls: "implicit TLS" },
  { port: 587, tls: "STARTTLS" },
  { port: 2465, tls: "implicit TLS" },
  { port: 2525, tls: "STARTTLS" },
  { port: 2587, tls: "STARTTLS" },
];

/**
 * The platform the snapshot shows, if it is one whose ports are known.
 *
 * @param snapshot What the runtime exposes.
 * @returns The platform, or `undefined` when none is recognised.
 */
export function detectPlatform(
  snapshot: PlatformSnapshot,
): EdgePlatform | undefined {
  const { env } = snapshot;
  if (snapshot.userAgent === "Cloudflare-Workers") {
    return { name: "Cloudflare Workers", blockedPorts: [25] };
  }
  // Hosted only: `supabase functions serve` runs the same runtime locally,
  // where nothing is blocked.
  if (
    snapshot.supabaseEdgeRuntime === true &&
    (env.SB_EXECUTION_ID !== undefined || env.SB_REGION !== undefined)
  ) {
    return { name: "Supabase Edge Functions", blockedPorts: [25, 587] };
  }
  if (
    env.DENO_DEPLOY !== undefined || env.DENO_DEPLOY_BUILD_ID !== undefined ||
    env.DENO_DEPLOYMENT_ID !== undefined
  ) {
    return { name: "Deno Deploy", blockedPorts: [] };
  }
  // `vercel dev` (and `vercel env pull`) set VERCEL_ENV=development.
  if (env.VERCEL === "1" && env.VERCEL_ENV !== "development") {
    return { name: "Vercel", blockedPorts: [25] };
  }
  return undefined;
}

/**
 * Whether the platform the snapshot shows blocks `port`.
 *
 * @param snapshot What the runtime exposes.
 * @param port The port the session would connect to.
 * @returns The block, or `undefined` when the port is not known to be
 * blocked (including when no platform is recognised).
 */
export function portBlock(
  snapshot: PlatformSnapshot,
  port: number,
): PortBlock | undefined {
  const platform = detectPlatform(snapshot);
  if (!platform || !platform.blockedPorts.includes(port)) return undefined;
  return {
    platform: platform.name,
    port,
    blockedPorts: platform.blockedPorts,
    alternatives: SUBMISSION_PORTS.map((p) => p.port).filter((p) =>
      !platform.blockedPorts.includes(p)
    ),
  };
}

function list(items: readonly string[], conjunction: string): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} ${conjunction} ${items.at(-1)}`;
}

/**
 * The error a session fails with, at once, instead of waiting for the
 * connect timeout of a port the platform drops: it names the platform, the
 * port, the ports to use instead, and the option that skips the check.
 *
 * @param block What {@linkcode portBlock} returned.
 * @param hostname The server's host name, for the message.
 * @returns An `SmtpError` of kind `"connection"`, not temporary, command
 * `"CONNECT"`.
 */
export function blockedPortError(
  block: PortBlock,
  hostname: string,
): SmtpError {
  const ports = block.blockedPorts.length === 1
    ? `port ${block.blockedPorts[0]}`
    : `ports ${list(block.blockedPorts.map(String), "and")}`;
  const tlsOf = (port: number) =>
    SUBMISSION_PORTS.find((p) => p.port === port)!.tls;
  const standard = block.alternatives.filter((p) => p < 1000);
  const alternate = block.alternatives.filter((p) => p >= 1000);
  const fix = [
    standard.length > 0
      ? `use ${list(standard.map((p) => `port ${p} (${tlsOf(p)})`), "or")}`
      : "",
    alternate.length > 0
      ? `an alternate port your provider offers: ${
        list(alternate.map((p) => `${p} (${tlsOf(p)})`), "or")
      }`
      : "",
  ].filter(Boolean).join(", or ");
  return new SmtpError(
    `Cannot connect to ${
      printable(hostname)
    }:${block.port}: outgoing connections to ${ports} are blocked on ${block.platform}; ${fix} (set allowBlockedPorts: true to try anyway)`,
    { kind: "connection", command: "CONNECT", temporary: false },
  );
}
