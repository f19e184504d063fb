import type { Connect, Connection, ConnectOptions } from "./connection.ts";

/**
 * A runtime the default transport knows: how to recognise it from what it
 * exposes (never by probing the network), and how to load its adapter.
 * `load` imports the adapter lazily, so that the session's module graph
 * stays Web-only and a bundle for one runtime never evaluates another's
 * `node:*` or `cloudflare:*` imports.
 */
interface Runtime {
  /** The runtime's name, for messages. */
  name: string;
  /** Whether the code runs there. */
  detect(): boolean;
  /** Imports its adapter. */
  load(): Promise<Connect>;
}

const global = globalThis as {
  Deno?: { version?: { deno?: string } };
  Bun?: unknown;
  process?: { versions?: { node?: string } };
  navigator?: { userAgent?: string };
};

/**
 * The runtimes, checked in order. Deno comes first (it also has `process`),
 * Cloudflare Workers before Node (with `nodejs_compat` a Worker has a
 * `process` too). To support a runtime, add its entry here.
 */
const RUNTIMES: Runtime[] = [
  {
    name: "Deno",
    detect: () => typeof global.Deno?.version?.deno === "string",
    load: () => import("./deno_connect.ts").then((m) => m.denoConnect),
  },
  {
    name: "Cloudflare Workers",
    detect: () => global.navigator?.userAgent === "Cloudflare-Workers",
    load: () =>
      import("./cloudflare_connect.ts").then((m) => m.cloudflareConnect),
  },
  {
    name: "Bun",
    detect: () => global.Bun !== undefined,
    load: () => import("./node_connect.ts").then((m) => m.nodeConnect),
  },
  {
    name: "Node",
    detect: () => typeof global.process?.versions?.node === "string",
    load: () => import("./node_connect.ts").then((m) => m.nodeConnect),
  },
];

let chosen: Promise<Connect> | undefined;

function choose(): Promise<Connect> {
  const runtime = RUNTIMES.find((r) => r.detect());
  if (!runtime) {
    return Promise.reject(
      new TypeError(
        "Cannot connect: no built-in transport for this runtime; pass a `connect` transport",
      ),
    );
  }
  chosen ??= runtime.load().catch((error) => {
    chosen = undefined;
    throw error;
  });
  return chosen;
}

/**
 * The transport `SmtpClient` and `sendmail()` use when no `connect` option
 * is given, chosen by runtime on the first connection: `denoConnect` on
 * Deno, `cloudflareConnect` on Cloudflare Workers, `nodeConnect` on Node
 * and Bun. The adapter is imported only then.
 *
 * @param options Where to connect, and the TLS intent.
 * @returns The open connection, from the runtime's adapter.
 * @throws {TypeError} When the runtime has no built-in transport: pass the
 * `connect` option.
 * @throws {Error} The adapter's classified failures (`cause.reason`).
 *
 * @example Connecting with the runtime's transport
 * ```ts ignore
 * import { defaultConnect } from "./default_connect.ts";
 * const conn = await defaultConnect({ hostname: "localhost", port: 25, tls: "none" });
 * conn.close();
 * ```
 */
export const defaultConnect: Connect = async (
  options: ConnectOptions,
): Promise<Connection> => {
  const connect = await choose();
  return await connect(options);
};
