/**
 * The `saslname` of GS2 headers and SCRAM (RFC 5801 §4, RFC 5802 §5.1).
 *
 * @module
 */

/**
 * Escapes a user name for a GS2 header or a SCRAM `n=` attribute: `=`
 * becomes `=3D` and `,` becomes `=2C`.
 *
 * @param name The user name.
 * @returns The escaped name.
 */
export function escapeSaslName(name: string): string {
  return name.replaceAll("=", "=3D").replaceAll(",", "=2C");
}
