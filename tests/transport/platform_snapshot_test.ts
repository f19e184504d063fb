import assert from "node:assert/strict";
import {
  PLATFORM_VARIABLES,
  readPlatformSnapshot,
} from "../../src/transport/_platform_snapshot.ts";

/** Runs `body` with `vars` set in the environment, then restores it. */
function withEnv(vars: Record<string, string>, body: () => void): void {
  const before = Object.fromEntries(
    Object.keys(vars).map((name) => [name, Deno.env.get(name)]),
  );
  try {
    for (const [name, value] of Object.entries(vars)) Deno.env.set(name, value);
    body();
  } finally {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
}

Deno.test("readPlatformSnapshot reads the platform variables and the user agent on Deno", () => {
  withEnv({ DENO_DEPLOY: "1", SB_REGION: "eu-west-2" }, () => {
    const snapshot = readPlatformSnapshot();
    assert.equal(snapshot.userAgent, navigator.userAgent);
    assert.equal(snapshot.env.DENO_DEPLOY, "1");
    assert.equal(snapshot.env.SB_REGION, "eu-west-2");
    assert.equal(snapshot.supabaseEdgeRuntime, undefined);
    // Only the platform variables are read.
    for (const name of Object.keys(snapshot.env)) {
      assert.ok((PLATFORM_VARIABLES as readonly string[]).includes(name), name);
    }
  });
});

Deno.test("readPlatformSnapshot sees Supabase's edge runtime by its globals", () => {
  const global = globalThis as { EdgeRuntime?: unknown };
  global.EdgeRuntime = { waitUntil() {} };
  try {
    assert.equal(readPlatformSnapshot().supabaseEdgeRuntime, true);
  } finally {
    delete global.EdgeRuntime;
  }
  // Vercel's edge runtime names itself with a string: not Supabase.
  global.EdgeRuntime = "edge-runtime";
  try {
    assert.equal(readPlatformSnapshot().supabaseEdgeRuntime, undefined);
  } finally {
    delete global.EdgeRuntime;
  }
});

Deno.test("readPlatformSnapshot reads only the variables Deno already allows, without prompting", async () => {
  const script = `
    import { readPlatformSnapshot } from ${
    JSON.stringify(
      new URL("../../src/transport/_platform_snapshot.ts", import.meta.url)
        .href,
    )
  };
    console.log(JSON.stringify(readPlatformSnapshot().env));
  `;
  // `deno eval` grants everything: run a file with the given permissions.
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, script);
  const run = async (permissions: string[]) => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...permissions, file],
      env: { DENO_DEPLOYMENT_ID: "dep-1", VERCEL: "1", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    return JSON.parse(new TextDecoder().decode(stdout));
  };
  try {
    assert.deepEqual(await run(["--allow-read"]), {});
    assert.deepEqual(
      await run(["--allow-read", "--allow-env=DENO_DEPLOYMENT_ID"]),
      { DENO_DEPLOYMENT_ID: "dep-1" },
    );
  } finally {
    await Deno.remove(file);
  }
});
