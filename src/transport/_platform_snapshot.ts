/**
 * The environment variables that tell a hosting platform, read by
 * {@linkcode readPlatformSnapshot}:
 * - `DENO_DEPLOY`, `DENO_DEPLOY_BUILD_ID` (Deno Deploy), `DENO_DEPLOYMENT_ID`
 *   (Deno Deploy Classic, and Supabase too);
 * - `SB_EXECUTION_ID`, `SB_REGION` (Supabase Edge Functions, hosted only);
 * - `VERCEL`, `VERCEL_ENV` (Vercel; `"development"` under `vercel dev`).
 */
export const PLATFORM_VARIABLES = [
  "DENO_DEPLOY",
  "DENO_DEPLOY_BUILD_ID",
  "DENO_DEPLOYMENT_ID",
  "SB_EXECUTION_ID",
  "SB_REGION",
  "VERCEL",
  "VERCEL_ENV",
] as const;

/** One of {@linkcode PLATFORM_VARIABLES}. */
export type PlatformVariable = typeof PLATFORM_VARIABLES[number];

/**
 * What the runtime exposes about the platform it runs on: plain data, so
 * that the port policy (`src/session/_platform_ports.ts`) is a pure
 * function of it.
 */
export interface PlatformSnapshot {
  /** `navigator.userAgent`, when the runtime has one. */
  userAgent?: string;
  /**
   * Whether Supabase's edge runtime is running the code: its globals
   * `EdgeRuntime` (an object with `waitUntil`) or `SUPABASE_VERSION`.
   */
  supabaseEdgeRuntime?: boolean;
  /**
   * The platform variables that are set and could be read. A name that is
   * missing is unset or not readable (no permission): unknown.
   */
  env: Readonly<Partial<Record<PlatformVariable, string>>>;
}

interface Globals {
  navigator?: { userAgent?: unknown };
  EdgeRuntime?: unknown;
  SUPABASE_VERSION?: unknown;
  Deno?: {
    env?: { get(name: string): string | undefined };
    permissions?: {
      querySync?(descriptor: { name: "env"; variable: string }): {
        state: string;
      };
    };
  };
  process?: { env?: Record<string, string | undefined> };
}

/**
 * Reads what the runtime exposes, without probing anything and without
 * asking for permissions: on Deno a variable is read only when env access
 * to it is already granted (`Deno.env.get` would otherwise prompt, or
 * throw), elsewhere from `process.env` when there is one.
 *
 * @returns The snapshot.
 */
export function readPlatformSnapshot(): PlatformSnapshot {
  const global = globalThis as Globals;
  const userAgent = global.navigator?.userAgent;
  const edgeRuntime = global.EdgeRuntime as { waitUntil?: unknown } | undefined;
  const supabaseEdgeRuntime = typeof global.SUPABASE_VERSION === "string" ||
    (typeof edgeRuntime === "object" && edgeRuntime !== null &&
      typeof edgeRuntime.waitUntil === "function");
  return {
    ...(typeof userAgent === "string" ? { userAgent } : {}),
    ...(supabaseEdgeRuntime ? { supabaseEdgeRuntime } : {}),
    env: readEnv(global),
  };
}

function readEnv(
  global: Globals,
): Partial<Record<PlatformVariable, string>> {
  const env: Partial<Record<PlatformVariable, string>> = {};
  const deno = global.Deno;
  let get: (name: string) => string | undefined;
  if (deno?.env) {
    const query = deno.permissions?.querySync;
    get = (name) => {
      if (
        typeof query === "function" &&
        query.call(deno.permissions, { name: "env", variable: name }).state !==
          "granted"
      ) return undefined;
      return deno.env!.get(name);
    };
  } else if (global.process?.env) {
    const processEnv = global.process.env;
    get = (name) => processEnv[name];
  } else return env;
  for (const name of PLATFORM_VARIABLES) {
    try {
      const value = get(name);
      if (typeof value === "string") env[name] = value;
    } catch {
      // Not readable here: unknown.
    }
  }
  return env;
}
