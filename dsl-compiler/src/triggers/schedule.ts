/**
 * EventBridge schedule expressions, as EventBridge reads them:
 * `rate(<n> minute|minutes|hour|hours|day|days)` and the six-field
 * `cron(minutes hours day-of-month month day-of-week year)` in UTC, where
 * day-of-week counts 1 (SUN) to 7 (SAT) and exactly one of day-of-month and
 * day-of-week is `?`. Parsed here so `ferry validate` refuses a bad
 * expression and `ferry run --watch` fires when EventBridge would.
 */

export type Schedule =
  | { kind: "rate"; seconds: number; expression: string }
  | { kind: "cron"; expression: string; fields: CronFields };

interface CronFields {
  minutes: Set<number>;
  hours: Set<number>;
  months: Set<number>;
  years: Set<number>;
  /** Day of month: a set of days, `L` (last) and `nW` (the weekday nearest to n); undefined when `?`. */
  dayOfMonth?: { days: Set<number>; last: boolean; nearestWeekday: number[] };
  /** Day of week, 1 = SUN: a set of days, `nL` (the last n of the month), `n#k` (the k-th n); undefined when `?`. */
  dayOfWeek?: { days: Set<number>; lastOf: number[]; nth: Array<[number, number]> };
}

const RATE_UNITS: Record<string, number> = { minute: 60, hour: 3600, day: 86_400 };
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MAX_YEAR = 2199;

export class ScheduleError extends Error {
  override readonly name = "ScheduleError";
}

/** Parses a schedule expression; throws a `ScheduleError` that says what is wrong. */
export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\((.*)\)$/.exec(expression);
  if (rate) return parseRate(expression, rate[1]!);
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) {
    try {
      return { kind: "cron", expression, fields: parseCron(cron[1]!) };
    } catch (e) {
      if (e instanceof ScheduleError && !e.message.startsWith("cron("))
        throw new ScheduleError(`${expression}: ${e.message}`);
      throw e;
    }
  }
  throw new ScheduleError('must be "rate(<value> <unit>)" or "cron(<six fields>)"');
}

function parseRate(expression: string, body: string): Schedule {
  const m = /^(\d+) ([a-z]+)$/.exec(body);
  if (!m) throw new ScheduleError(`rate(${body}): write a whole number and a unit, e.g. rate(5 minutes)`);
  const value = Number(m[1]);
  const unit = m[2]!;
  const singular = unit.endsWith("s") ? unit.slice(0, -1) : unit;
  const seconds = RATE_UNITS[singular];
  if (seconds === undefined)
    throw new ScheduleError(`rate(${body}): the unit must be minute(s), hour(s) or day(s), not "${unit}"`);
  if (value < 1) throw new ScheduleError(`rate(${body}): the value must be at least 1`);
  if (value === 1 && unit !== singular)
    throw new ScheduleError(`rate(${body}): a value of 1 takes the singular unit: rate(1 ${singular})`);
  if (value > 1 && unit === singular)
    throw new ScheduleError(`rate(${body}): a value above 1 takes the plural unit: rate(${value} ${unit}s)`);
  return { kind: "rate", seconds: value * seconds, expression };
}

function parseCron(body: string): CronFields {
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new ScheduleError(
      `cron(${body}) has ${parts.length} field${parts.length === 1 ? "" : "s"}; EventBridge takes six: minutes hours day-of-month month day-of-week year`,
    );
  }
  const [min, hour, dom, month, dow, year] = parts as [string, string, string, string, string, string];
  if ((dom === "?") === (dow === "?")) {
    throw new ScheduleError(
      `cron(${body}): exactly one of day-of-month ("${dom}") and day-of-week ("${dow}") must be "?"`,
    );
  }
  const fields: CronFields = {
    minutes: parseSet(min, "minutes", 0, 59),
    hours: parseSet(hour, "hours", 0, 23),
    months: parseSet(month, "month", 1, 12, MONTHS),
    years: parseSet(year, "year", 1970, MAX_YEAR),
  };
  if (dom !== "?") fields.dayOfMonth = parseDayOfMonth(dom);
  if (dow !== "?") fields.dayOfWeek = parseDayOfWeek(dow);
  return fields;
}

function parseDayOfMonth(text: string): NonNullable<CronFields["dayOfMonth"]> {
  const out = { days: new Set<number>(), last: false, nearestWeekday: [] as number[] };
  for (const part of text.split(",")) {
    if (part === "L") out.last = true;
    else if (/^\d+W$/.test(part))
      out.nearestWeekday.push(inRange(Number(part.slice(0, -1)), "day-of-month", 1, 31));
    else for (const d of parseSet(part, "day-of-month", 1, 31)) out.days.add(d);
  }
  return out;
}

function parseDayOfWeek(text: string): NonNullable<CronFields["dayOfWeek"]> {
  const out = { days: new Set<number>(), lastOf: [] as number[], nth: [] as Array<[number, number]> };
  for (const part of text.split(",")) {
    const nth = /^([A-Z0-9]+)#(\d)$/.exec(part);
    const lastOf = /^([A-Z0-9]+)L$/.exec(part);
    if (part === "L") out.days.add(7);
    else if (nth)
      out.nth.push([
        value(nth[1]!, "day-of-week", 1, 7, DAYS),
        inRange(Number(nth[2]), "day-of-week #", 1, 5),
      ]);
    else if (lastOf) out.lastOf.push(value(lastOf[1]!, "day-of-week", 1, 7, DAYS));
    else for (const d of parseSet(part, "day-of-week", 1, 7, DAYS)) out.days.add(d);
  }
  return out;
}

/** Comma-separated `*`, `n` or `a-b`, each optionally followed by a step (`/s`). */
function parseSet(text: string, field: string, min: number, max: number, names?: string[]): Set<number> {
  const set = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\*|[A-Z0-9]+(?:-[A-Z0-9]+)?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new ScheduleError(`${field} "${part}" is not a value, a range, a step or "*"`);
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) throw new ScheduleError(`${field} "${part}": the step must be at least 1`);
    let from = min;
    let to = max;
    if (m[1] !== "*") {
      const [a, b] = m[1]!.split("-") as [string, string | undefined];
      from = value(a, field, min, max, names);
      to = b === undefined ? (m[2] === undefined ? from : max) : value(b, field, min, max, names);
      if (to < from) throw new ScheduleError(`${field} "${part}": the range runs backwards`);
    }
    for (let v = from; v <= to; v += step) set.add(v);
  }
  return set;
}

function value(text: string, field: string, min: number, max: number, names?: string[]): number {
  const named = names?.indexOf(text) ?? -1;
  if (named >= 0) return named + min;
  if (!/^\d+$/.test(text))
    throw new ScheduleError(`${field} "${text}" is not a number${names ? ` or a name (${names[0]}…)` : ""}`);
  return inRange(Number(text), field, min, max);
}

function inRange(n: number, field: string, min: number, max: number): number {
  if (n < min || n > max) throw new ScheduleError(`${field} ${n} is outside ${min}–${max}`);
  return n;
}

/**
 * The first time after `after` the schedule fires, or undefined if it never
 * does again. A rate fires every period counted from `start` (when the
 * schedule was switched on), as EventBridge counts from the rule's creation.
 */
export function nextFire(schedule: Schedule, after: Date, start: Date = after): Date | undefined {
  if (schedule.kind === "rate") {
    const period = schedule.seconds * 1000;
    const n = Math.max(1, Math.floor((after.getTime() - start.getTime()) / period) + 1);
    return new Date(start.getTime() + n * period);
  }
  const f = schedule.fields;
  const first = new Date(Math.floor(after.getTime() / 60_000) * 60_000 + 60_000);
  const day = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), first.getUTCDate()));
  for (let i = 0; i < 366 * 30; i++, day.setUTCDate(day.getUTCDate() + 1)) {
    const year = day.getUTCFullYear();
    if (year > MAX_YEAR) return undefined;
    if (!f.years.has(year) || !f.months.has(day.getUTCMonth() + 1) || !dayMatches(f, day)) continue;
    const sameDay = i === 0;
    for (const hour of [...f.hours].sort((a, b) => a - b)) {
      if (sameDay && hour < first.getUTCHours()) continue;
      for (const minute of [...f.minutes].sort((a, b) => a - b)) {
        const at = new Date(day.getTime() + hour * 3_600_000 + minute * 60_000);
        if (at.getTime() >= first.getTime()) return at;
      }
    }
  }
  return undefined;
}

function dayMatches(f: CronFields, day: Date): boolean {
  const date = day.getUTCDate();
  const lastDate = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + 1, 0)).getUTCDate();
  const weekday = day.getUTCDay() + 1;
  if (f.dayOfMonth) {
    const dom = f.dayOfMonth;
    if (dom.days.has(date) || (dom.last && date === lastDate)) return true;
    return dom.nearestWeekday.some((n) => nearestWeekday(day, Math.min(n, lastDate)) === date);
  }
  const dow = f.dayOfWeek!;
  if (dow.days.has(weekday)) return true;
  if (dow.lastOf.includes(weekday) && date + 7 > lastDate) return true;
  return dow.nth.some(([d, k]) => d === weekday && Math.ceil(date / 7) === k);
}

/** The weekday nearest to day `n` of `day`'s month, never leaving the month. */
function nearestWeekday(day: Date, n: number): number {
  const target = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), n));
  const lastDate = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + 1, 0)).getUTCDate();
  const wd = target.getUTCDay();
  if (wd === 6) return n === 1 ? 3 : n - 1;
  if (wd === 0) return n === lastDate ? n - 2 : n + 1;
  return n;
}
