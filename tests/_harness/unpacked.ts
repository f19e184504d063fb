/**
 * Where `.ci/install_servers` puts the servers it unpacks instead of
 * installing (Exim and OpenSMTPD would replace Postfix as the system's
 * mail-transport-agent) and Haraka's npm prefix, and how to run a
 * server whose paths are compiled in: under `unshare -m`, with private
 * directories and files bind-mounted over those paths in a mount namespace
 * of its own, so nothing outside the test's directory changes.
 *
 * @module
 */

/**
 * The directory holding the unpacked servers: `$SENDMAIL_SERVERS_DIR`, or
 * `/opt/sendmail-servers`.
 *
 * @returns The directory (it may not exist).
 */
export function serversDirectory(): string {
  return Deno.env.get("SENDMAIL_SERVERS_DIR") ?? "/opt/sendmail-servers";
}

/**
 * A path inside the unpacked tree of one server, when the file is there.
 *
 * @param server `exim`, `opensmtpd` or `haraka`.
 * @param path The path inside its tree, e.g. `usr/sbin/exim4`.
 * @returns The absolute path, or `undefined` when it is missing.
 */
export function unpackedFile(server: string, path: string): string | undefined {
  const file = `${serversDirectory()}/${server}/${path}`;
  try {
    return Deno.statSync(file).isFile ? file : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The versions `.ci/install_servers` recorded for an unpacked server, e.g.
 * `"exim4-base=4.96-15+deb12u11 exim4-daemon-light=4.96-15+deb12u11"`.
 *
 * @param server `exim` or `opensmtpd`.
 * @returns The recorded versions, or `"unknown"`.
 */
export function unpackedVersion(server: string): string {
  try {
    return Deno.readTextFileSync(`${serversDirectory()}/${server}/VERSION`)
      .trim();
  } catch {
    return "unknown";
  }
}

/** A system account added to the private copy of /etc/passwd. */
export interface PrivateAccount {
  /** The user and group name. */
  name: string;
  /** Its home directory. @default {"/nonexistent"} */
  home?: string;
}

/** What {@linkcode privateAccounts} made. */
export interface PrivateAccounts {
  /** The bind mounts over /etc/passwd and /etc/group, `[source, target]`. */
  binds: [string, string][];
  /** Each account's uid (its gid is the same), by name. */
  ids: Record<string, number>;
}

/**
 * Writes `passwd` and `group` into `dir`: copies of the system's files with
 * `accounts` added (the users an unpacked server's binary looks up by a
 * compiled-in name), for {@linkcode privateMountCommand} to mount over
 * /etc/passwd and /etc/group. A name the system has keeps its ids; a new
 * one gets an id no user or group of the system has.
 *
 * @param dir Where to write them.
 * @param accounts The accounts to add.
 * @returns The bind mounts and the accounts' ids.
 */
export function privateAccounts(
  dir: string,
  accounts: PrivateAccount[],
): PrivateAccounts {
  const passwd = Deno.readTextFileSync("/etc/passwd").trimEnd().split("\n");
  const group = Deno.readTextFileSync("/etc/group").trimEnd().split("\n");
  const used = new Set(
    [...passwd, ...group].map((line) => Number(line.split(":")[2])),
  );
  const find = (lines: string[], name: string) =>
    lines.find((line) => line.startsWith(`${name}:`));
  const ids: Record<string, number> = {};
  let next = 64_900;
  for (const { name, home = "/nonexistent" } of accounts) {
    const existing = find(passwd, name);
    if (existing) {
      ids[name] = Number(existing.split(":")[2]);
      continue;
    }
    while (used.has(next)) next++;
    const id = next++;
    used.add(id);
    ids[name] = id;
    passwd.push(`${name}:x:${id}:${id}::${home}:/usr/sbin/nologin`);
    if (!find(group, name)) group.push(`${name}:x:${id}:`);
  }
  Deno.writeTextFileSync(`${dir}/passwd`, passwd.join("\n") + "\n");
  Deno.writeTextFileSync(`${dir}/group`, group.join("\n") + "\n");
  Deno.chmodSync(`${dir}/passwd`, 0o644);
  Deno.chmodSync(`${dir}/group`, 0o644);
  return {
    binds: [[`${dir}/passwd`, "/etc/passwd"], [`${dir}/group`, "/etc/group"]],
    ids,
  };
}

function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command line that runs `command` in a mount namespace of its own
 * (`unshare -m`, mounts private to it) after bind-mounting each source over
 * its target. The shell `exec`s the command, so its pid is the server's
 * and a signal to it reaches the server.
 *
 * @param binds `[source, target]` pairs, mounted in order.
 * @param command The executable.
 * @param args Its arguments.
 * @param options `stderrToStdout`: the server's stderr joins its stdout
 * (for servers that log to stderr, read line by line by `ChildLines`).
 * @returns The executable and arguments to spawn.
 */
export function privateMountCommand(
  binds: [string, string][],
  command: string,
  args: string[],
  options: { stderrToStdout?: boolean } = {},
): [string, string[]] {
  const redirect = options.stderrToStdout ? " 2>&1" : "";
  const script = [
    ...binds.map(([source, target]) =>
      `mount --bind ${quote(source)} ${quote(target)}`
    ),
    `exec ${[command, ...args].map(quote).join(" ")}${redirect}`,
  ].join(" && ");
  return ["unshare", ["-m", "sh", "-c", script]];
}

/**
 * Whether this process may run {@linkcode privateMountCommand}: it is root
 * and `unshare -m` works here.
 *
 * @returns `true` when private mounts can be made.
 */
export function canMountPrivately(): boolean {
  if (Deno.uid() !== 0) return false;
  try {
    return new Deno.Command("unshare", {
      args: ["-m", "true"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}
