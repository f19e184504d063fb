// The corpus of Received fields the received/ tests share: real-world
// fields with hand-written parses, and the fields produced here by real
// servers (fixtures/local.json).

import type { ReceivedField } from "../../received.ts";

/** One corpus entry: the field body, where it came from, its expected parse. */
export interface CorpusField {
  software: string;
  source: string;
  field: string;
  expected: ReceivedField;
}

interface RawEntry {
  software: string;
  source: string;
  field: string;
  expected: Record<string, unknown> & { date?: string };
}

function load(name: string): CorpusField[] {
  const text = Deno.readTextFileSync(
    new URL(`./fixtures/${name}`, import.meta.url),
  );
  const { fields } = JSON.parse(text) as { fields: RawEntry[] };
  return fields.map((entry) => {
    const { date, ...rest } = entry.expected;
    const expected = { raw: entry.field, ...rest } as ReceivedField;
    if (date !== undefined) expected.date = new Date(date);
    return { ...entry, expected };
  });
}

/** Fields from public sources. */
export const REAL_WORLD: readonly CorpusField[] = load("real_world.json");

/** Fields written by servers run here (Postfix, the capture server, the command). */
export const LOCAL: readonly CorpusField[] = load("local.json");

/** Every corpus field. */
export const CORPUS: readonly CorpusField[] = [...REAL_WORLD, ...LOCAL];

/** Reads a fixture message. */
export function fixtureMessage(name: string): string {
  return Deno.readTextFileSync(new URL(`./fixtures/${name}`, import.meta.url));
}
