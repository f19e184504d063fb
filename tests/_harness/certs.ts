/**
 * Test certificates made with `openssl`, once per process: a small CA and
 * leaves signed by it. rustls (Deno's TLS) refuses a self-signed CA used as
 * the server's own certificate, so every server gets a leaf and every client
 * trusts the CA.
 *
 * @module
 */

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

async function openssl(cwd: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", {
    args,
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `Cannot make test certificates: openssl ${args[0]} exited with ${code}: ${
        new TextDecoder().decode(stderr).trim()
      }`,
    );
  }
}

function serial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f; // positive
  return bytes.toHex();
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await openssl(dir, [
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

async function makeLeaf(
  dir: string,
  ca: string,
  name: string,
  cn: string,
  san: string,
): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/${name}.ext`,
    [
      `subjectAltName=${san}`,
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "",
    ].join("\n"),
  );
  await openssl(dir, [
    "req",
    "-new",
    ...EC,
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${cn}`,
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-set_serial",
    `0x${serial()}`,
    "-out",
    `${name}.pem`,
    "-days",
    "3650",
    "-extfile",
    `${name}.ext`,
  ]);
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
  const local = "DNS:localhost,IP:127.0.0.1,IP:::1";
  await Promise.all([
    makeCa(dir, "ca", "sendmail test CA"),
    makeCa(dir, "untrusted-ca", "sendmail untrusted test CA"),
  ]);
  await Promise.all([
    makeLeaf(dir, "ca", "localhost", "localhost", local),
    makeLeaf(dir, "untrusted-ca", "untrusted", "localhost", local),
    makeLeaf(dir, "ca", "wrong-name", "wrong.example", "DNS:wrong.example"),
  ]);
  for await (const entry of Deno.readDir(dir)) {
    await Deno.chmod(`${dir}/${entry.name}`, 0o644);
  }
  const [good, untrusted, wrongName] = await Promise.all([
    load(dir, "ca", "localhost"),
    load(dir, "untrusted-ca", "untrusted"),
    load(dir, "ca", "wrong-name"),
  ]);
  return { dir, good, untrusted, wrongName };
}
