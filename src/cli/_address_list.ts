/**
 * A small RFC 5322 address-list parser: enough to take the bare addresses
 * out of To/Cc/Bcc header fields and command-line arguments. Display names,
 * comments, groups and obsolete routes are understood and dropped.
 *
 * @module
 */

type Token =
  | { type: "word"; text: string }
  | { type: "special"; text: "<" | ">" | "," | ":" | ";" };

/**
 * Splits a header value into words (atoms, quoted strings, domain literals)
 * and the specials that structure an address list. Comments are dropped;
 * whitespace only separates words.
 */
function tokenize(value: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++;
    } else if (c === "(") {
      // A comment, possibly nested, with quoted-pairs.
      let depth = 0;
      for (; i < value.length; i++) {
        const d = value[i];
        if (d === "\\") i++;
        else if (d === "(") depth++;
        else if (d === ")" && --depth === 0) break;
      }
      i++;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < value.length && value[j] !== '"'; j++) {
        if (value[j] === "\\") j++;
      }
      tokens.push({ type: "word", text: value.slice(i, j + 1) });
      i = j + 1;
    } else if (c === "[") {
      const j = value.indexOf("]", i);
      const end = j === -1 ? value.length : j + 1;
      tokens.push({ type: "word", text: value.slice(i, end) });
      i = end;
    } else if (c === "<" || c === ">" || c === "," || c === ":" || c === ";") {
      tokens.push({ type: "special", text: c });
      i++;
    } else {
      let j = i;
      while (j < value.length && !/[\s()"<>,:;[]/.test(value[j]!)) j++;
      tokens.push({ type: "word", text: value.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

/**
 * Returns the bare addresses (`local@domain`) of an RFC 5322 address list,
 * in order. `"Ada" <ada@example.com>, bob@example.com (Bob)` gives
 * `["ada@example.com", "bob@example.com"]`; a group
 * `undisclosed-recipients:;` gives nothing.
 */
export function parseAddressList(value: string): string[] {
  const addresses: string[] = [];
  let words: string[] = []; // words of the current address outside <>
  let angle: string[] | undefined; // words inside <>, once seen
  let inAngle = false;

  const finish = () => {
    let parts = angle ?? words;
    // Obsolete source route: <@a.example,@b.example:user@c.example>.
    if (angle && parts[0]?.startsWith("@")) {
      const colon = parts.indexOf("\u0000:");
      parts = colon === -1 ? parts : parts.slice(colon + 1);
    }
    const address = parts.filter((p) => p !== "\u0000:").join("");
    if (address !== "") addresses.push(address);
    words = [];
    angle = undefined;
  };

  for (const token of tokenize(value)) {
    if (inAngle) {
      if (token.text === ">" && token.type === "special") inAngle = false;
      else if (token.type === "special" && token.text === ":") {
        angle!.push("\u0000:");
      } else if (token.type === "special" && token.text === ",") {
        // Separator inside an obsolete route: ignore.
      } else angle!.push(token.text);
      continue;
    }
    if (token.type === "word") {
      words.push(token.text);
      continue;
    }
    switch (token.text) {
      case "<":
        inAngle = true;
        angle = [];
        break;
      case ">":
        break;
      case ",":
      case ";":
        finish();
        break;
      case ":":
        // The display name of a group: its members follow.
        words = [];
        angle = undefined;
        break;
    }
  }
  finish();
  return addresses;
}
