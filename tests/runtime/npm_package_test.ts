/**
 * What npm users get: `deno task build:npm` builds the package as JSR
 * does (JS per file and .d.ts), a plain Node 22 project with a
 * package.json installs it, type-checks a consumer file with tsc
 * (NodeNext resolution, strict) and runs it: a send over STARTTLS to the
 * capture server of `@x/sendmail/testing`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { interopRequired } from "../_harness/interop.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const NODE22 = Deno.env.get("SENDMAIL_NODE22") ??
  `${ROOT}.ci/_runtimes/node22/node_modules/.bin/node`;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const output = decoder.decode(stdout) + decoder.decode(stderr);
  assert.equal(code, 0, `${command} ${args.join(" ")} failed:\n${output}`);
  return decoder.decode(stdout);
}

const CONSUMER =
  `import { type Mail, sendmail, type SendResult, SmtpError } from "@x/sendmail";
import { startTestServer, type TestServer } from "@x/sendmail/testing";
import { nodeConnect } from "@x/sendmail/node";
import { composeMessage } from "@x/sendmail/mime";

const mail: Mail = {
  from: "app@example.com",
  to: "user@example.com",
  subject: "From an npm project",
  text: "Hello from Node",
};
const server: TestServer = await startTestServer();
try {
  const result: SendResult = await sendmail(
    { ...server.clientOptions, hostname: "localhost", connect: nodeConnect },
    mail,
  );
  const message = await server.nextMessage();
  const composed = composeMessage(mail);
  console.log(JSON.stringify({
    accepted: result.accepted,
    secure: message.secure,
    to: message.envelope.to,
    errorClass: SmtpError.name,
    envelope: composed.envelope.to,
  }));
} finally {
  await server.close();
}
`;

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: ["ES2023", "DOM", "DOM.Iterable", "DOM.AsyncIterable"],
    types: ["node"],
    typeRoots: [`${ROOT}.ci/npm/node_modules/@types`],
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    verbatimModuleSyntax: true,
  },
  files: ["consumer.ts"],
};

const missingNode = exists(NODE22)
  ? undefined
  : "Node 22 is not installed in .ci/_runtimes (bash .ci/run installs it)";

Deno.test({
  name: `build:npm gives a package a Node 22 project type-checks and runs${
    missingNode && !interopRequired() ? ` (skipped: ${missingNode})` : ""
  }`,
  ignore: missingNode !== undefined && !interopRequired(),
  async fn() {
    if (missingNode) throw new Error(`Cannot run: ${missingNode}`);
    await run("bash", [".ci/npm/build"], ROOT);
    const dir = await Deno.makeTempDir({ prefix: "sendmail_npm_consumer_" });
    try {
      await Deno.writeTextFile(
        `${dir}/package.json`,
        JSON.stringify({
          name: "consumer",
          private: true,
          type: "module",
          dependencies: { "@x/sendmail": `file:${ROOT}dist/npm` },
        }),
      );
      await Deno.writeTextFile(`${dir}/consumer.ts`, CONSUMER);
      await Deno.writeTextFile(
        `${dir}/tsconfig.json`,
        JSON.stringify(TSCONFIG),
      );
      // A file: dependency: npm links it, no registry involved.
      await run("npm", [
        "install",
        "--offline",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
      ], dir);
      await run(`${ROOT}.ci/npm/node_modules/.bin/tsc`, ["-p", "."], dir);
      const out = await run(NODE22, [
        "--experimental-strip-types",
        "--no-warnings",
        "consumer.ts",
      ], dir);
      assert.deepEqual(JSON.parse(out), {
        accepted: ["user@example.com"],
        secure: true,
        to: ["user@example.com"],
        errorClass: "SmtpError",
        envelope: ["user@example.com"],
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
