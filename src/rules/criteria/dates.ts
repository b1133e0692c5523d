/**
 * Payload timestamps for `timediff_lt` / `timediff_gt`. StackStorm parses the
 * value with dateutil, treating a time without an offset as UTC. Attune reads
 * the forms payloads actually carry, strictly: ISO 8601 / RFC 3339 (`T` or a
 * space between date and time, optional seconds and fraction, `Z`, `UTC`,
 * `GMT`, `±HH:MM`, `±HHMM` or `±HH`, or no offset for UTC), a bare date
 * (midnight UTC), ISO basic format (`20240131T120000Z`), and RFC 2822 / HTTP
 * dates (`Tue, 31 Jan 2024 12:00:00 GMT`). Anything else is refused, never
 * guessed at.
 */

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/;
const ISO_BASIC = /^(\d{4})(\d{2})(\d{2})[Tt](\d{2})(\d{2})(\d{2})?(?:[.,](\d{1,9}))?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const RFC_2822 =
  /^(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?(\d{1,2})\s+([a-z]{3})[a-z]*\s+(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?\s*(z|ut|utc|gmt|[+-]\d{4})?$/i;

/** Milliseconds since the epoch for a timestamp string, or null when it is not one of the forms above. */
export function parseTimestamp(text: string): number | null {
  const trimmed = text.trim();
  let match = ISO.exec(trimmed) ?? ISO_BASIC.exec(trimmed);
  if (match) {
    const [, year, month, day, hour, minute, second, fraction, offset] = match;
    return build(+year!, +month!, +day!, +(hour ?? 0), +(minute ?? 0), +(second ?? 0), fraction, offset);
  }
  match = RFC_2822.exec(trimmed);
  if (match) {
    const [, day, monthName, year, hour, minute, second, offset] = match;
    const month = MONTHS.indexOf(monthName!.toLowerCase()) + 1;
    if (month === 0) return null;
    return build(+year!, month, +day!, +hour!, +minute!, +(second ?? 0), undefined, offset);
  }
  return null;
}

function build(year: number, month: number, day: number, hour: number, minute: number, second: number, fraction: string | undefined, offset: string | undefined): number | null {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  // setUTCFullYear keeps years below 100 as written (Date.UTC would add 1900).
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  // 31 February rolls over into March; a real date keeps its day.
  if (date.getUTCDate() !== day) return null;
  const utc = date.getTime();
  const millis = fraction === undefined ? 0 : Number(`0.${fraction}`) * 1000;
  const offsetMinutes = parseOffset(offset);
  if (offsetMinutes === null) return null;
  return utc + millis - offsetMinutes * 60_000;
}

/** Minutes east of UTC; no offset (or Z, UTC, GMT) is UTC. */
function parseOffset(offset: string | undefined): number | null {
  if (offset === undefined || /^(z|ut|utc|gmt)$/i.test(offset)) return 0;
  const match = /^([+-])(\d{2}):?(\d{2})?$/.exec(offset);
  if (!match) return null;
  const hours = +match[2]!;
  const minutes = +(match[3] ?? 0);
  if (hours > 23 || minutes > 59) return null;
  return (match[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
}
