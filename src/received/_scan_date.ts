/**
 * Dates as `Received:` fields write them, read tolerantly: RFC 5322
 * date-time with or without the day of the week, two-digit years, obsolete
 * and unknown zone names; asctime (`Fri Feb  7 10:18:12 2003 -0800`, zone
 * before or after the year); SendGrid's fractional seconds (`07:53:55.516
 * +0000`) and Go timestamps (`2017-03-19 10:40:22.912373046 +0000 UTC`);
 * ISO 8601. A date that does not exist (31 February, 25:00) is no date.
 *
 * @module
 */

const MONTHS = [
  "jan",
  "feb",
  "mar",
  "apr",
  "may",
  "jun",
  "jul",
  "aug",
  "sep",
  "oct",
  "nov",
  "dec",
];

/** RFC 5322 §4.3 obs-zone names; any other name counts as -0000 (unknown). */
const ZONES: Record<string, number> = {
  UT: 0,
  UTC: 0,
  GMT: 0,
  Z: 0,
  EST: -5 * 60,
  EDT: -4 * 60,
  CST: -6 * 60,
  CDT: -5 * 60,
  MST: -7 * 60,
  MDT: -6 * 60,
  PST: -8 * 60,
  PDT: -7 * 60,
};

const DOW = String.raw`(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?`;
const MON = String
  .raw`(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?`;
const TIME = String.raw`(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?`;
const ZONE = String.raw`([+-]\d{2}:?\d{2}|[a-z]{1,5})(?![a-z0-9])`;

/** `[Mon, ]7 Aug 2006 17:48:07 +0200` */
const RFC5322 = new RegExp(
  String
    .raw`(?<![a-z0-9])(?:${DOW},?\s*)?(\d{1,2})[\s-]+${MON}[\s-]+(\d{2,4})\s+${TIME}(?:\s*${ZONE})?`,
  "gi",
);
/** `Fri Feb 07 10:18:12 2003 -0800`, `Fri Sep 14 14:36:56 EDT 2018` */
const ASCTIME = new RegExp(
  String
    .raw`(?<![a-z0-9])${DOW},?\s+${MON}\s+(\d{1,2})\s+${TIME}\s+(?:${ZONE}\s+)?(\d{4})(?:\s+${ZONE})?`,
  "gi",
);
/** `2017-03-19 10:40:22.912373046 +0000 UTC`, `2019-03-20T13:39:29Z` */
const ISO = new RegExp(
  String
    .raw`(?<![0-9])(\d{4})-(\d{2})-(\d{2})[t ]${TIME}\s*([+-]\d{2}:?\d{2}|z)?`,
  "gi",
);

/** A date found in text, and where. */
export interface FoundDate {
  /** The date. */
  date: Date;
  /** Where its text starts. */
  start: number;
  /** Where its text ends. */
  end: number;
}

function zoneOffset(zone: string | undefined): number | undefined {
  if (zone === undefined) return 0;
  const numeric = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (numeric) {
    const hours = Number(numeric[2]);
    const minutes = Number(numeric[3]);
    if (hours > 23 || minutes > 59) return undefined;
    return (numeric[1] === "-" ? -1 : 1) * (hours * 60 + minutes);
  }
  return ZONES[zone.toUpperCase()] ?? 0;
}

function fullYear(text: string): number {
  const year = Number(text);
  // RFC 5322 §4.3: 00-49 are 2000-2049, 50-99 and three digits add 1900.
  if (text.length === 2) return year < 50 ? 2000 + year : 1900 + year;
  if (text.length === 3) return 1900 + year;
  return year;
}

function build(
  year: number,
  month: number,
  day: number,
  hour: string,
  minute: string,
  second: string | undefined,
  fraction: string | undefined,
  zone: string | undefined,
): Date | undefined {
  const h = Number(hour);
  const m = Number(minute);
  // A leap second is read as the second before it.
  const s = Math.min(Number(second ?? 0), 59);
  const offset = zoneOffset(zone);
  if (
    offset === undefined || year < 1900 || year > 9999 || month < 0 ||
    month > 11 || day < 1 || h > 23 || m > 59 || Number(second ?? 0) > 60
  ) {
    return undefined;
  }
  const days = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  if (day > days) return undefined;
  const ms = fraction === undefined
    ? 0
    : Number(fraction.padEnd(3, "0").slice(0, 3));
  const time = Date.UTC(year, month, day, h, m, s, ms) - offset * 60_000;
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function* matches(text: string): Generator<FoundDate> {
  for (const m of text.matchAll(RFC5322)) {
    const [, day, mon, year, hh, mm, ss, frac, zone] = m;
    const date = build(
      fullYear(year!),
      MONTHS.indexOf(mon!.toLowerCase()),
      Number(day),
      hh!,
      mm!,
      ss,
      frac,
      zone,
    );
    if (date) yield { date, start: m.index, end: m.index + m[0].length };
  }
  for (const m of text.matchAll(ASCTIME)) {
    const [, mon, day, hh, mm, ss, frac, zone1, year, zone2] = m;
    const date = build(
      Number(year),
      MONTHS.indexOf(mon!.toLowerCase()),
      Number(day),
      hh!,
      mm!,
      ss,
      frac,
      zone1 ?? zone2,
    );
    if (date) yield { date, start: m.index, end: m.index + m[0].length };
  }
  for (const m of text.matchAll(ISO)) {
    const [, year, month, day, hh, mm, ss, frac, zone] = m;
    const date = build(
      Number(year),
      Number(month) - 1,
      Number(day),
      hh!,
      mm!,
      ss,
      frac,
      zone,
    );
    if (date) yield { date, start: m.index, end: m.index + m[0].length };
  }
}

/**
 * Finds the first date in `text` (the earliest start).
 *
 * @param text Text after a field's last `;`.
 * @returns The date and where it is, or `undefined`.
 */
export function firstDate(text: string): FoundDate | undefined {
  let best: FoundDate | undefined;
  for (const found of matches(text)) {
    if (best === undefined || found.start < best.start) best = found;
  }
  return best;
}

/**
 * Finds the last date in `text` (the latest start), for fields that give
 * the date without a `;` before it.
 *
 * @param text The whole field body.
 * @returns The date and where it is, or `undefined`.
 */
export function lastDate(text: string): FoundDate | undefined {
  let best: FoundDate | undefined;
  for (const found of matches(text)) {
    if (best === undefined || found.start > best.start) best = found;
  }
  return best;
}
