import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("defaultConnect keeps node:net out of a bundle's static imports", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sendmail_bundle_" });
  try {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform=browser", "-o", `${dir}/mod.js`, "mod.ts"],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const text = await Deno.readTextFile(`${dir}/mod.js`);
    // A Worker without nodejs_compat refuses to start on a static
    // `import "node:net"`; a dynamic one is evaluated only on Node and Bun.
    assert.doesNotMatch(text, /^\s*import\b[^(]*["']node:/m);
    assert.doesNotMatch(text, /\brequire\(\s*["']node:/);
    assert.match(text, /import\(\s*["']node:net["']\s*\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
