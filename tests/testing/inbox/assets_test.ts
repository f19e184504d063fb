// The page's files are served from _assets.ts, generated from static/:
// this fails when one was edited without the other.

import assert from "node:assert/strict";
import { ASSETS_MODULE, embedAssets } from "./_embed_assets.ts";

Deno.test("_assets.ts holds the files of static/ as they are (deno task inbox:assets)", async () => {
  assert.equal(
    await Deno.readTextFile(ASSETS_MODULE),
    await embedAssets(),
    "src/testing/inbox/_assets.ts is stale: run deno task inbox:assets",
  );
});
