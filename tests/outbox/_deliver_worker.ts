/**
 * A delivering process for the outbox's multi-process tests: opens the KV
 * file given, delivers through the server given, and prints one JSON line
 * per pass. It stops after `--passes` passes in a row that attempted
 * nothing, or, with `--until-settled`, once no entry is queued or sending
 * (waiting out the leases of a delivery that died).
 *
 * Run: deno run --unstable-kv -A tests/outbox/_deliver_worker.ts KV_PATH SMTP_URL
 *   [--passes N] [--until-settled] [--lease MS] [--concurrency N]
 *
 * @module
 */
import { Outbox } from "../../outbox.ts";

const [path, url, ...rest] = Deno.args;
const flag = (name: string, fallback: number): number => {
  const i = rest.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(rest[i + 1]);
};
const idlePasses = flag("passes", 3);
const leaseDuration = flag("lease", 600_000);
const concurrency = flag("concurrency", 10);
const untilSettled = rest.includes("--until-settled");

const kv = await Deno.openKv(path!);
const outbox = await Outbox.open({
  kv,
  transport: url!,
  leaseDuration,
  concurrency,
  retry: { delays: [50] },
});
console.log(JSON.stringify({ ready: true }));
let idle = 0;
const total = { attempted: 0, sent: 0, retried: 0, failed: 0 };
const unsettled = async () =>
  (await outbox.list({ state: "queued", limit: 1 })).length +
  (await outbox.list({ state: "sending", limit: 1 })).length;
while (
  untilSettled ? await unsettled() > 0 : idlePasses === 0 || idle < idlePasses
) {
  const result = await outbox.deliver();
  for (const key of Object.keys(total) as (keyof typeof total)[]) {
    total[key] += result[key];
  }
  console.log(JSON.stringify({ pass: result }));
  idle = result.attempted === 0 ? idle + 1 : 0;
  await new Promise((resolve) => setTimeout(resolve, 20));
}
console.log(JSON.stringify({ total }));
await outbox.close();
kv.close();
