/**
 * Test certificates for the conformance fixtures, made by the suite's one
 * generator (`tests/_harness/cert_files.ts`) so that Deno, Node and Bun
 * make them the same way: a trusted CA with leaves for `localhost` / `127.0.0.1` / `::1`
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

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { writeCertDir } from "../_harness/cert_files.ts";

export { SYSTEM_CA_FILE, writeCertDir } from "../_harness/cert_files.ts";

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
