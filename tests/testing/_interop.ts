/**
 * Whether an interop tool is installed, and the skip rule: a missing tool
 * skips its tests unless SENDMAIL_INTEROP=required (CI), where it fails.
 *
 * @module
 */

/** True when `command` runs; throws when it is missing and interop is required. */
export function haveTool(
  command: string,
  args: string[] = ["--version"],
): boolean {
  try {
    new Deno.Command(command, { args, stdout: "null", stderr: "null" })
      .outputSync();
    return true;
  } catch {
    if (Deno.env.get("SENDMAIL_INTEROP") === "required") {
      throw new Error(
        `Cannot run interop tests: "${command}" is not installed`,
      );
    }
    console.warn(`Skipping interop tests: "${command}" is not installed`);
    return false;
  }
}
