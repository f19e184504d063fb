/**
 * Runs `command` with `sh -c`, as msmtp runs `passwordeval`: no standard
 * input, standard error passed through (so that a pinentry or gpg message
 * reaches the user), standard output returned.
 *
 * @throws {Error} When the command cannot be started or exits with a non-zero status.
 */
export async function runShellCommand(command: string): Promise<string> {
  const output = await new Deno.Command("sh", {
    args: ["-c", command],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) {
    throw new Error(`the command exited with status ${output.code}`);
  }
  return new TextDecoder().decode(output.stdout);
}
