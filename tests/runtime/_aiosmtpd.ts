/**
 * aiosmtpd (Debian's python3-aiosmtpd) for the runtime suites, started with
 * `node:child_process` so that Node and Bun can run it too: the same
 * server script as tests/_harness/aiosmtpd.ts, its events read back from
 * the file it appends to.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBase64 } from "../../src/protocol/_base64.ts";
import type { Leaf } from "../transport/_certs.ts";

const SCRIPT = fileURLToPath(
  new URL("../_harness/aiosmtpd_server.py", import.meta.url),
);
const PYTHON = "/usr/bin/python3";

/** Options: a subset of the harness's. */
export interface AiosmtpdOptions {
  /** The certificate to serve (STARTTLS, or implicit TLS). */
  leaf: Leaf;
  /** Speak TLS from the first byte. @default {false} */
  implicitTls?: boolean;
  /** Accounts for AUTH PLAIN / LOGIN / CRAM-MD5. @default {[]} */
  auth?: { username: string; password: string }[];
}

/** One message as aiosmtpd received it. */
export interface AiosmtpdMessage {
  /** The reverse-path. */
  mailFrom: string;
  /** The accepted forward-paths. */
  rcptTo: string[];
  /** The bytes exactly, dot-stuffing undone. */
  data: Uint8Array;
  /** The session's authentication. */
  auth: { mechanism: string; login: string | null } | null;
  /** The session's TLS, `null` in plaintext. */
  tls: { version: string } | null;
}

/** A running aiosmtpd. */
export interface Aiosmtpd {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Every message received so far. */
  messages(): Promise<AiosmtpdMessage[]>;
  /** Stops it and removes its files. */
  close(): Promise<void>;
}

/**
 * Whether aiosmtpd can run here.
 *
 * @returns `undefined` when it can, else why not.
 */
export async function aiosmtpdMissing(): Promise<string | undefined> {
  const ok = await new Promise<boolean>((resolve) => {
    const child = spawn(PYTHON, ["-c", "import aiosmtpd"], {
      stdio: "ignore",
    });
    child.on("error", () => resolve(false));
    child.on("exit", (code) => resolve(code === 0));
  });
  return ok
    ? undefined
    : `${PYTHON} cannot import aiosmtpd (apt-get install python3-aiosmtpd)`;
}

/**
 * Starts aiosmtpd on 127.0.0.1 and waits until it listens.
 *
 * @param options Its certificate, TLS mode and accounts.
 * @returns The running server.
 */
export async function startAiosmtpd(
  options: AiosmtpdOptions,
): Promise<Aiosmtpd> {
  const dir = await mkdtemp(join(tmpdir(), "sendmail_rt_aiosmtpd_"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const eventsFile = join(dir, "events.jsonl");
  await Promise.all([
    writeFile(certFile, options.leaf.cert),
    writeFile(keyFile, options.leaf.key),
    writeFile(eventsFile, ""),
  ]);
  const config = {
    eventsFile,
    port: 0,
    implicitTls: options.implicitTls ?? false,
    certFile,
    keyFile,
    requireStarttls: false,
    auth: options.auth ?? [],
    authRequired: false,
    authRequireTls: true,
    smtputf8: true,
    sizeLimit: 33554432,
  };
  const child = spawn(PYTHON, [SCRIPT, JSON.stringify(config)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
  });
  let stderr = "";
  child.stderr!.on("data", (data) => stderr += String(data));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(
        () => reject(new Error(`Cannot start aiosmtpd: no ready line`)),
        10_000,
      );
      child.stdout!.on("data", (data) => {
        out += String(data);
        const line = out.split("\n")[0]!;
        if (out.includes("\n")) {
          clearTimeout(timer);
          const ready = JSON.parse(line) as { event?: string; port?: number };
          if (ready.event === "ready" && ready.port) resolve(ready.port);
          else reject(new Error(`Cannot start aiosmtpd: ${line}`));
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`Cannot start aiosmtpd: exited ${code}: ${stderr}`));
      });
    });
    return new Server(child, port, dir, eventsFile);
  } catch (error) {
    await stop(child);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

class Server implements Aiosmtpd {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #eventsFile: string;

  constructor(child: ChildProcess, port: number, dir: string, events: string) {
    this.#child = child;
    this.port = port;
    this.#dir = dir;
    this.#eventsFile = events;
  }

  async messages(): Promise<AiosmtpdMessage[]> {
    const text = await readFile(this.#eventsFile, "utf8");
    const events = text.split("\n").filter((line) => line.endsWith("}"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return events.filter((e) => e.event === "message").map((e) => ({
      mailFrom: e.mailFrom as string,
      rcptTo: e.rcptTos as string[],
      data: fromBase64(e.data as string),
      auth: e.auth as AiosmtpdMessage["auth"],
      tls: e.tls as AiosmtpdMessage["tls"],
    }));
  }

  async close(): Promise<void> {
    await stop(this.#child);
    await rm(this.#dir, { recursive: true, force: true });
  }
}
