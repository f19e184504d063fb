// Hops whose fields hold everything a renderer must escape: quotes,
// backslashes, markup, DOT and Mermaid syntax, control characters, lone
// surrogates, noncharacters, bidirectional overrides.

import type { Hop } from "../../received.ts";

/** Strings no renderer may let through unescaped. */
export const EVIL = [
  'quote" and \\ backslash',
  "</text></svg><script>alert(1)</script>",
  "]]><!-- & &amp; &#0; ' \"",
  "} digraph x { n0 -> n1; \\n \\l \\N",
  'end"] --> |x| n9["#quot; #35; `code` %%',
  "line\r\nbreak\ttab\x00nul\x1besc\x7fdel\x85nel",
  "lone \ud800 surrogate \udfff and \ufffe\uffff nonchars",
  "bidi \u202e override \u2028 separator ok Zoë 😀",
];

function hop(index: number, text: string, link: Hop["link"]): Hop {
  const timing = index === 1
    ? {}
    : { delayMs: 1000, elapsedMs: (index - 1) * 1000 };
  return {
    ...timing,
    index,
    field: {
      raw: text,
      from: { helo: text, name: `${text}.name`, ip: "192.0.2.1", user: text },
      by: { name: text, ip: "2001:db8::1" },
      with: text,
      id: text,
      for: [text],
      tls: { version: text, cipher: text },
      date: new Date(Date.UTC(2026, 2, 2, 10, 0, index)),
    },
    clockSkew: false,
    link,
  };
}

/** A path through every kind of link, each hop full of EVIL. */
export const EVIL_HOPS: Hop[] = EVIL.map((text, i) =>
  hop(
    i + 1,
    text,
    i === 0 ? "first" : (["linked", "broken", "unknown"] as const)[i % 3]!,
  )
);

/**
 * A text as a picture shows it: control characters (but tab), lone
 * surrogates and noncharacters as U+FFFD, a tab as a space, ends trimmed.
 */
export function shown(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, "\ufffd")
    .replaceAll("\t", " ").toWellFormed().replace(/[\ufffe\uffff]/g, "\ufffd")
    .trim();
}
