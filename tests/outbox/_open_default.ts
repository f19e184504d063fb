/**
 * Opens an outbox on the default KV and prints what happened, for the test
 * that runs it without `--unstable-kv`.
 *
 * @module
 */
import { Outbox } from "../../outbox.ts";

try {
  const outbox = await Outbox.open({
    transport: "smtp://127.0.0.1:9?tls=none",
  });
  await outbox.close();
  console.log(JSON.stringify({ opened: true }));
} catch (error) {
  console.log(
    JSON.stringify({
      name: (error as Error).name,
      message: (error as Error).message,
    }),
  );
}
