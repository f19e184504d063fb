import assert from "node:assert/strict";
import { hopsToTable, traceHops } from "../../received.ts";
import { fixtureMessage } from "./_corpus.ts";
import { EVIL_HOPS } from "./_evil_hops.ts";

Deno.test("hopsToTable prints a row per hop, the total and the clock skew", () => {
  assert.equal(
    hopsToTable(traceHops(fixtureMessage("aixigo_git.eml"))),
    [
      "hop  from                                      by                         with    TLS      date                  delay",
      "1    vmdpcl078.ac.aixigo.de [172.19.97.224]    mailhost.ac.aixigo.de      ESMTPS  TLSv1.3  2021-07-28 07:44:25Z",
      "2    mailhost.ac.aixigo.de [172.19.96.11]      mail.aixigo.de             ESMTPS  TLSv1.3  2021-07-28 07:44:26Z  +1 s",
      "3    mail.aixigo.de [2001:67c:13b0:ffff::60]   lindbergh.monkeyblade.net  ESMTP   -        2021-07-28 07:44:29Z  +3 s",
      "4    lindbergh.monkeyblade.net [23.128.96.19]  vger.kernel.org            ESMTP   -        2021-07-28 07:44:31Z  +2 s",
      "5    majordomo@vger.kernel.org (local)         vger.kernel.org            -       -        2021-07-28 07:44:34Z  +3 s",
      "6    vger.kernel.org [23.128.96.18]            mail.kernel.org            ESMTP   -        2021-07-28 07:44:33Z  -1 s",
      "7    mail.kernel.org [198.145.29.99]           smtp.lore.kernel.org       ESMTP   -        2021-07-28 07:44:33Z  0 s",
      "",
      "total: +8 s from hop 1 to hop 7",
      "hop 6: dated 1 s before hop 5 (clock skew)",
      "",
    ].join("\n"),
  );
});

Deno.test("hopsToTable names each place where the from/by chain breaks", () => {
  const table = hopsToTable(traceHops(fixtureMessage("amd_exchange.eml")));
  assert.match(
    table,
    /^hop 3: from MN1PEPF0000ECDB\.namprd02\.prod\.outlook\.com \[2a01:111:f403:f902::2\], but hop 2 was received by MN1PEPF0000ECDB\.mail\.protection\.outlook\.com \[10\.167\.242\.139\]$/m,
  );
  assert.equal(table.match(/^hop \d+: from /gm)?.length, 3);
  assert.match(table, /^total: \+8 s from hop 1 to hop 7$/m);
});

Deno.test("hopsToTable says so when nothing is dated or there are no hops", () => {
  assert.equal(hopsToTable([]), "no Received fields\n");
  const table = hopsToTable(traceHops(["by a.example; not a date"]));
  assert.match(table, /^1 +- +a\.example +- +- +-$/m);
  assert.match(table, /^total: unknown \(fewer than two dated hops\)$/m);
});

Deno.test("hopsToTable never prints a control character", () => {
  const table = hopsToTable(EVIL_HOPS);
  // Only the line feeds the table is made of.
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(table.replaceAll("\n", ""), /[\x00-\x1f\x7f-\x9f]/);
  assert.match(table, /\ufffd/);
});
