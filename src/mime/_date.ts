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

/** Formats a date as RFC 5322 `date-time` in UTC: `Fri, 29 Nov 2024 08:45:00 +0000`. */
export function formatDate(date: Date): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new TypeError("Cannot compose message: the date is not a valid Date");
  }
  const year = date.getUTCFullYear();
  if (year < 1900 || year > 9999) {
    throw new RangeError(
      `Cannot compose message: year ${year} is outside 1900 to 9999`,
    );
  }
  return `${DAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${
    MONTHS[date.getUTCMonth()]
  } ${year} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${
    pad(date.getUTCSeconds())
  } +0000`;
}
