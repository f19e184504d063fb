// One cold start, run as its own fresh process by bench/cold_start.ts:
//   <runtime> bench/cold/cold_client.mjs '<json>'
// Times, from this module's first line: importing the client module, and
// being ready to send (connected, greeting read, EHLO answered, on a
// plaintext loopback server). Prints one JSON line.
const args = JSON.parse(process.argv[2] ?? "{}");
const t0 = performance.now();
let ready;
if (args.client === "nodemailer") {
  const { default: nodemailer } = await import(args.module);
  const imported = performance.now() - t0;
  const transport = nodemailer.createTransport({
    host: "127.0.0.1",
    port: args.port,
    secure: false,
    ignoreTLS: true,
  });
  await transport.verify();
  ready = performance.now() - t0;
  transport.close();
  console.log(JSON.stringify({ importMs: imported, readyMs: ready }));
} else {
  const { SmtpClient } = await import(args.module);
  const imported = performance.now() - t0;
  const client = await SmtpClient.connect({
    hostname: "127.0.0.1",
    port: args.port,
    tls: "none",
  });
  ready = performance.now() - t0;
  await client.quit();
  console.log(JSON.stringify({ importMs: imported, readyMs: ready }));
}
