// RFC 5322 §3.3 date-time.

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * Formats a date as RFC 5322 `date-time`: in UTC (`Fri, 29 Nov 2024 08:45:00
 * +0000`), or with `local` in the local time zone with its offset (`+0100`),
 * as the sendmail command writes it.
 */
export function formatDate(date: Date, local = false): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new TypeError("Cannot compose message: the date is not a valid Date");
  }
  // Local time is UTC shifted by the zone's offset at that instant.
  const offset = local ? -date.getTimezoneOffset() : 0;
  const shifted = new Date(date.getTime() + offset * 60_000);
  const year = shifted.getUTCFullYear();
  if (year < 1900 || year > 9999) {
    throw new RangeError(
      `Cannot compose message: year ${year} is outside 1900 to 9999`,
    );
  }
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${DAYS[shifted.getUTCDay()]}, ${shifted.getUTCDate()} ${
    MONTHS[shifted.getUTCMonth()]
  } ${year} ${pad(shifted.getUTCHours())}:${pad(shifted.getUTCMinutes())}:${
    pad(shifted.getUTCSeconds())
  } ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}
