/**
 * DKIM tag lists (RFC 6376 §3.2), as a DKIM-Signature field and a key
 * record write them: `tag=value` pairs separated by `;`, white space and
 * folding allowed around names, `=` and values. Each value keeps where it
 * lies in the text, so a verifier can blank the `b=` value.
 *
 * @module
 */

/** One tag of a list. */
export interface Tag {
  /** The value, white space around it removed (inside it kept). */
  value: string;
  /** Where the text after the `=` starts. */
  start: number;
  /** Where the tag ends: at its `;`, or the end of the text. */
  end: number;
}

/** A parsed tag list, or why it could not be parsed. */
export type TagList =
  | { ok: true; tags: Map<string, Tag>; order: string[] }
  | { ok: false; reason: string };

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** tag-value: VALCHARs (%x21-3A / %x3C-7E) and folding white space. */
const VALUE = /^[\x21-\x3a\x3c-\x7e \t\r\n]*$/;
const FWS = /^[ \t\r\n]+|[ \t\r\n]+$/g;

/**
 * Parses a tag list.
 *
 * @param text The list (a field value, or a TXT record).
 * @param offset Added to every position (where `text` lies in a field).
 * @returns The tags by name (lowercase names are not folded: tag names are
 * case-sensitive) and their order, or the reason it is malformed (a tag
 * without `=`, a bad name or value, a name given twice).
 */
export function parseTagList(text: string, offset = 0): TagList {
  const tags = new Map<string, Tag>();
  const order: string[] = [];
  let at = 0;
  while (at <= text.length) {
    let end = text.indexOf(";", at);
    if (end < 0) end = text.length;
    const spec = text.slice(at, end);
    if (spec.replace(FWS, "") === "") {
      // Only the list's trailing ";" may leave an empty spec.
      if (end < text.length) {
        return { ok: false, reason: "an empty tag in the tag list" };
      }
      break;
    }
    const eq = spec.indexOf("=");
    if (eq < 0) {
      return {
        ok: false,
        reason: `the tag ${JSON.stringify(spec.replace(FWS, ""))} has no "="`,
      };
    }
    const name = spec.slice(0, eq).replace(FWS, "");
    if (!NAME.test(name)) {
      return { ok: false, reason: `bad tag name ${JSON.stringify(name)}` };
    }
    const raw = spec.slice(eq + 1);
    if (!VALUE.test(raw)) {
      return { ok: false, reason: `the ${name}= tag has a bad character` };
    }
    if (tags.has(name)) {
      return { ok: false, reason: `the ${name}= tag is given twice` };
    }
    tags.set(name, {
      value: raw.replace(FWS, ""),
      start: offset + at + eq + 1,
      end: offset + end,
    });
    order.push(name);
    at = end + 1;
  }
  return { ok: true, tags, order };
}
