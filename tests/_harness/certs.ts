/**
 * Test certificates for the servers of the harness, made once per process
 * by the suite's one generator (`cert_files.ts`) and kept on disk, readable
 * by every user, until the process unloads: a small CA and leaves signed by
 * it, and a leaf of an unrelated CA.
 *
 * @module
 */

import { writeCertDir } from "./cert_files.ts";

/** PEM material and the files holding it, for a server and its clients. */
export interface TestCerts {
  /** The CA certificate (PEM) clients trust: pass it in `caCerts`. */
  caCert: string;
  /** The server's leaf certificate (PEM). */
  cert: string;
  /** The server's private key (PEM, PKCS #8). */
  key: string;
  /** The temporary directory holding the files below. */
  dir: string;
  /** Path of {@linkcode TestCerts.caCert}. */
  caFile: string;
  /** Path of {@linkcode TestCerts.cert}. */
  certFile: string;
  /** Path of {@linkcode TestCerts.key}. */
  keyFile: string;
}

interface Material {
  dir: string;
  good: TestCerts;
  untrusted: TestCerts;
  wrongName: TestCerts;
}

let material: Promise<Material> | undefined;

/**
 * Returns a CA and a leaf for `localhost`, `127.0.0.1` and `::1` signed by
 * it (EC P-256, `CA:FALSE`, `serverAuth`). Made once per process, in a
 * temporary directory removed when the process unloads.
 *
 * @returns The trusted test certificates.
 * @example Trusting the test CA
 * ```ts ignore
 * const { caCert } = await makeTestCerts();
 * await Deno.connectTls({ hostname: "localhost", port, caCerts: [caCert] });
 * ```
 */
export function makeTestCerts(): Promise<TestCerts> {
  return makeMaterial().then((m) => m.good);
}

/**
 * Returns a leaf for `localhost` / `127.0.0.1` / `::1` signed by a second,
 * unrelated CA: a client trusting only {@linkcode makeTestCerts}' CA must
 * refuse it. `caCert` here is that unrelated CA.
 *
 * @returns Certificates no test client trusts by default.
 */
export function makeUntrustedCerts(): Promise<TestCerts> {
  return makeMaterial().then((m) => m.untrusted);
}

/**
 * Returns a leaf for `wrong.example` only, signed by the trusted CA of
 * {@linkcode makeTestCerts}: a client connecting to `localhost` or
 * `127.0.0.1` must refuse it for its name.
 *
 * @returns Certificates with the trusted CA and a leaf of the wrong name.
 */
export function makeWrongNameCerts(): Promise<TestCerts> {
  return makeMaterial().then((m) => m.wrongName);
}

function makeMaterial(): Promise<Material> {
  material ??= generate().catch((error) => {
    material = undefined;
    throw error;
  });
  return material;
}

async function load(dir: string, ca: string, leaf: string): Promise<TestCerts> {
  const caFile = `${dir}/${ca}.pem`;
  const certFile = `${dir}/${leaf}.pem`;
  const keyFile = `${dir}/${leaf}.key`;
  const [caCert, cert, key] = await Promise.all(
    [caFile, certFile, keyFile].map((f) => Deno.readTextFile(f)),
  );
  return { caCert, cert, key, dir, caFile, certFile, keyFile } as TestCerts;
}

async function generate(): Promise<Material> {
  const dir = await Deno.makeTempDir({ prefix: "sendmail_certs_" });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // already gone
    }
  });
  // Files are readable by everyone: smtp-sink and friends may drop
  // privileges, and the keys protect nothing but loopback tests.
  await Deno.chmod(dir, 0o755);
  await writeCertDir(dir);
  for await (const entry of Deno.readDir(dir)) {
    await Deno.chmod(`${dir}/${entry.name}`, 0o644);
  }
  const [good, untrusted, wrongName] = await Promise.all([
    load(dir, "ca", "localhost"),
    load(dir, "unknown-ca", "unknown"),
    load(dir, "ca", "wrong-name"),
  ]);
  return { dir, good, untrusted, wrongName };
}
