/**
 * Test certificates made with `openssl` through `node:child_process`, so
 * that Deno, Node and Bun make them the same way; the one generator of the
 * suite. In one directory: a trusted CA (`ca.pem`) with leaves for
 * `localhost` / `127.0.0.1` / `::1` (`localhost`) and for `wrong.example`
 * (`wrong-name`), an unrelated CA (`unknown-ca.pem`) with its own leaf for
 * localhost (`unknown`), and a third CA (`system-ca.pem`, leaf `system`)
 * that a runner may install as a system root of a runtime it starts. Every
 * leaf is EC P-256, `CA:FALSE`, `serverAuth`, its key in `<name>.key`.
 *
 * rustls (Deno's TLS) refuses a self-signed CA used as the server's own
 * certificate, so every server gets a leaf and every client trusts the CA.
 *
 * @module
 */

import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

/** The file that holds the "system" CA in a directory of test material. */
export const SYSTEM_CA_FILE = "system-ca.pem";

function run(cwd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("openssl", args, { cwd }, (error, _stdout, stderr) => {
      if (error) {
        reject(
          new Error(
            `Cannot make test certificates: openssl ${args[0]} failed: ${
              String(stderr).trim() || error.message
            }`,
          ),
        );
      } else resolve();
    });
  });
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await run(dir, [
    "req",
    "-x509",
    ...EC,
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "3650",
    "-subj",
    `/CN=${cn}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

let serial = 0x1000 + Math.floor(Math.random() * 0xffff);

async function makeLeaf(
  dir: string,
  ca: string,
  name: string,
  san: string,
): Promise<void> {
  await writeFile(
    join(dir, `${name}.ext`),
    [
      `subjectAltName=${san}`,
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "",
    ].join("\n"),
  );
  await run(dir, [
    "req",
    "-new",
    ...EC,
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${name}`,
  ]);
  await run(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-set_serial",
    String(serial++),
    "-out",
    `${name}.pem`,
    "-days",
    "3650",
    "-extfile",
    `${name}.ext`,
  ]);
}

/**
 * Makes the whole set in `dir`: CA `ca.pem`, leaves `localhost`,
 * `wrong-name`, `unknown` (under `unknown-ca`) and `system` (under
 * {@linkcode SYSTEM_CA_FILE}).
 *
 * @param dir An existing, empty directory.
 * @returns Once every file is written.
 */
export async function writeCertDir(dir: string): Promise<void> {
  const local = "DNS:localhost,IP:127.0.0.1,IP:::1";
  await Promise.all([
    makeCa(dir, "ca", "sendmail conformance CA"),
    makeCa(dir, "unknown-ca", "sendmail unknown CA"),
    makeCa(dir, "system-ca", "sendmail system CA"),
  ]);
  await Promise.all([
    makeLeaf(dir, "ca", "localhost", local),
    makeLeaf(dir, "ca", "wrong-name", "DNS:wrong.example"),
    makeLeaf(dir, "unknown-ca", "unknown", local),
    makeLeaf(dir, "system-ca", "system", local),
  ]);
}
