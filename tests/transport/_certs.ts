/**
 * Test certificates for the conformance fixtures, made with `openssl`
 * through `node:child_process`, so that Deno, Node and Bun make them the
 * same way: a trusted CA with leaves for `localhost` / `127.0.0.1` / `::1`
 * and for `wrong.example`, an unrelated CA with its own leaf, and a third
 * CA that a runner may install as a *system* root of the runtime it starts
 * (`NODE_EXTRA_CA_CERTS`, `DENO_CERT`) to prove that `caCerts` adds to the
 * roots instead of replacing them.
 *
 * When `SENDMAIL_TEST_CERTS` names a directory made by
 * {@linkcode writeCertDir}, the material is read from there (the runner
 * made it before starting the runtime, to point the runtime at its system
 * CA); otherwise it is made once per process in a temporary directory.
 *
 * @module
 */

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** A server's certificate and key (PEM). */
export interface Leaf {
  /** The certificate. */
  cert: string;
  /** Its private key. */
  key: string;
}

/** Every certificate the fixtures serve. */
export interface CertSet {
  /** The CA clients trust through `caCerts`. */
  caCert: string;
  /** A leaf for localhost, 127.0.0.1 and ::1, signed by `caCert`. */
  good: Leaf;
  /** A leaf for wrong.example only, signed by `caCert`. */
  wrongName: Leaf;
  /** A leaf for localhost signed by a CA nobody trusts. */
  unknownCa: Leaf;
  /**
   * A leaf for localhost signed by the "system" CA, present only when the
   * runner installed that CA as a root of the runtime (see the module doc).
   */
  system?: Leaf;
}

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

async function readLeaf(dir: string, name: string): Promise<Leaf> {
  const [cert, key] = await Promise.all([
    readFile(join(dir, `${name}.pem`), "utf8"),
    readFile(join(dir, `${name}.key`), "utf8"),
  ]);
  return { cert, key };
}

async function readCertDir(dir: string, system: boolean): Promise<CertSet> {
  const [caCert, good, wrongName, unknownCa, systemLeaf] = await Promise.all([
    readFile(join(dir, "ca.pem"), "utf8"),
    readLeaf(dir, "localhost"),
    readLeaf(dir, "wrong-name"),
    readLeaf(dir, "unknown"),
    system ? readLeaf(dir, "system") : Promise.resolve(undefined),
  ]);
  return {
    caCert,
    good,
    wrongName,
    unknownCa,
    ...(systemLeaf ? { system: systemLeaf } : {}),
  };
}

/**
 * Whether the runner made the material (`SENDMAIL_TEST_CERTS`), so that
 * the "system" leaf exists and its CA is a root of this runtime.
 *
 * @returns Whether {@linkcode CertSet.system} will be present.
 */
export function hasSystemCerts(): boolean {
  return Boolean(process.env.SENDMAIL_TEST_CERTS);
}

let made: Promise<CertSet> | undefined;

/**
 * The test certificates: from `SENDMAIL_TEST_CERTS` when set (with the
 * "system" leaf), else made once per process (without it).
 *
 * @returns The set.
 */
export function testCerts(): Promise<CertSet> {
  made ??= load().catch((error) => {
    made = undefined;
    throw error;
  });
  return made;
}

async function load(): Promise<CertSet> {
  const given = process.env.SENDMAIL_TEST_CERTS;
  if (given) return await readCertDir(given, true);
  const dir = await mkdtemp(join(tmpdir(), "sendmail_conformance_"));
  try {
    await writeCertDir(dir);
    return await readCertDir(dir, false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
