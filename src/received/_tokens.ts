/**
 * The lexical layer of the `Received:` parser: unfolding, finding the
 * `;` before the date, and splitting the rest into words and comments.
 * Everything here is total: unbalanced parentheses, brackets or quotes end
 * at the end of the text, nothing throws.
 *
 * @module
 */

/** A word (atom, domain, `[literal]`, `<path>`, `"quoted"`) or a comment. */
export type Token =
  | { kind: "word"; text: string }
  | { kind: "comment"; text: string };

/**
 * Unfolds a field body: a line break followed by white space is removed, a
 * line break without (malformed) becomes a space, and every other control
 * character (tab included) becomes a space.
 */
export function unfold(value: string): string {
  return value
    .replace(/\r?\n(?=[ \t])|\r(?=[ \t])/g, "")
    // deno-lint-ignore no-control-regex
    .replace(/[\x00-\x1f\x7f]/g, " ");
}

/**
 * The index of the last `;` outside comments, angle brackets, square
 * brackets and quoted strings, or -1.
 */
export function lastTopLevelSemicolon(text: string): number {
  let found = -1;
  let paren = 0;
  let angle = false;
  let square = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && (paren > 0 || quoted)) {
      i++;
      continue;
    }
    if (quoted) {
      if (c === '"') quoted = false;
    } else if (paren > 0) {
      if (c === "(") paren++;
      else if (c === ")") paren--;
    } else if (angle) {
      if (c === ">") angle = false;
    } else if (square) {
      if (c === "]") square = false;
    } else if (c === "(") paren = 1;
    else if (c === '"') quoted = true;
    else if (c === "<") angle = true;
    else if (c === "[") square = true;
    else if (c === ";") found = i;
  }
  return found;
}

/** Reads a comment starting at `text[start] === "("`; returns its inner text and the index after it. */
function readComment(text: string, start: number): [string, number] {
  let depth = 0;
  let i = start;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      i++;
    } else if (c === "(") {
      depth++;
    } else if (c === ")") {
      depth--;
      if (depth === 0) return [text.slice(start + 1, i), i + 1];
    }
  }
  return [text.slice(start + 1), text.length];
}

function closing(open: string): string {
  return open === "[" ? "]" : open === "<" ? ">" : '"';
}

/**
 * Splits text into words and comments. A word ends at white space or at a
 * `(`; inside it, `[…]`, `<…>` and `"…"` are kept whole, spaces and all.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " ") {
      i++;
    } else if (c === "(") {
      const [inner, next] = readComment(text, i);
      tokens.push({ kind: "comment", text: inner });
      i = next;
    } else if (c === ")") {
      i++; // a stray closing parenthesis
    } else {
      const start = i;
      while (i < text.length && text[i] !== " " && text[i] !== "(") {
        const open = text[i]!;
        if (open === "[" || open === "<" || open === '"') {
          const close = closing(open);
          let j = i + 1;
          while (j < text.length && text[j] !== close) {
            if (open === '"' && text[j] === "\\") j++;
            j++;
          }
          i = Math.min(j + 1, text.length);
        } else {
          i++;
        }
      }
      tokens.push({ kind: "word", text: text.slice(start, i) });
    }
  }
  return tokens;
}
