// Composes a message with a text and an html body, an inline image and an
// attachment, and prints it to stdout: nothing is sent.
//
//   deno run examples/compose.ts > message.eml

import { composeMessage } from "../mime.ts";

// A 1×1 PNG.
const logo = Uint8Array.fromBase64(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
);

const message = composeMessage({
  from: "Zoë Example <zoe@example.com>",
  to: ["Grace <grace@example.org>", {
    name: "Jörg",
    address: "jorg@bücher.example",
  }],
  bcc: "archive@example.com",
  subject: "Quarterly report — ready ✅",
  text: "Hello,\n\nThe report is attached.\n\n— Zoë",
  html:
    '<p>Hello,</p><p>The report is attached.</p><img src="cid:logo" alt="logo">',
  attachments: [
    { filename: "logo.png", content: logo, contentId: "logo" },
    {
      filename: "rapport trimestriel.csv",
      content: "quarter,revenue\nQ1,100\n",
    },
  ],
  headers: { "X-Mailer": "@x/sendmail example" },
});

console.error("Message-ID:", message.messageId);
console.error("Envelope:  ", JSON.stringify(message.envelope));
await message.readable.pipeTo(Deno.stdout.writable);
