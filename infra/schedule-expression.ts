/**
 * EventBridge Scheduler's schedule expressions, checked at synth so that a
 * typo fails `cdk synth` with a sentence instead of the deploy:
 *
 * - `rate(value unit)`: a whole number ≥ 1 of minute(s), hour(s) or day(s), singular exactly for 1;
 * - `cron(minutes hours day-of-month month day-of-week year)`: six fields, one of
 *   day-of-month and day-of-week "?", each field in its range, firing at least once from now;
 * - `at(yyyy-mm-ddThh:mm:ss)`: a real date and time.
 *
 * aws-cron-parser checks the numbers of each cron field and computes the next
 * firing; it assumes the expression's shape is valid (six fields, the "?"
 * rule, the characters each field allows), so that part is checked here.
 */
import awsCron from 'aws-cron-parser';

const CRON_FIELDS = [
  { name: 'minutes', chars: /^[\d,\-*/]+$/ },
  { name: 'hours', chars: /^[\d,\-*/]+$/ },
  { name: 'day-of-month', chars: /^[\d,\-*?/LW]+$/ },
  { name: 'month', chars: /^([\d,\-*/]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)+$/i },
  { name: 'day-of-week', chars: /^([\d,\-*?L#]|SUN|MON|TUE|WED|THU|FRI|SAT)+$/i },
  { name: 'year', chars: /^[\d,\-*/]+$/ },
] as const;

/** Returns the expression if EventBridge Scheduler would accept it; otherwise throws a message that says why. */
export function checkScheduleExpression(expression: string, now = new Date()): string {
  const fail = (reason: string): never => {
    throw new Error(`scheduleExpression "${expression}" ${reason}`);
  };
  const [, kind, body = ''] = /^(rate|cron|at)\((.*)\)$/.exec(expression) ?? [];
  if (kind === 'rate') checkRate(body, fail);
  else if (kind === 'cron') checkCron(body, now, fail);
  else if (kind === 'at') checkAt(body, fail);
  else fail('is not an EventBridge Scheduler expression: use rate(...), cron(...) or at(...).');
  return expression;
}

type Fail = (reason: string) => never;

function checkRate(body: string, fail: Fail): void {
  const match = /^(\S+) (\S+)$/.exec(body);
  if (!match) return fail('must be rate(value unit), e.g. rate(12 hours).');
  const [, value = '', unit = ''] = match;
  if (!/^\d+$/.test(value)) return fail(`must have a whole number of units, not "${value}".`);
  const count = Number(value);
  if (count < 1) return fail('must be at least 1 minute, hour or day.');
  const singular = unit.replace(/s$/, '');
  if (!['minute', 'hour', 'day'].includes(singular)) return fail(`must count minutes, hours or days, not "${unit}".`);
  const expected = count === 1 ? singular : `${singular}s`;
  if (unit !== expected) fail(`should read rate(${count} ${expected}).`);
}

function checkCron(body: string, now: Date, fail: Fail): void {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== CRON_FIELDS.length) {
    fail(`needs 6 fields (minutes hours day-of-month month day-of-week year), found ${fields.length}.`);
  }
  for (const [i, field] of CRON_FIELDS.entries()) {
    if (!field.chars.test(fields[i]!)) fail(`has ${field.name} "${fields[i]}", which that field does not allow.`);
  }
  const [dayOfMonth, dayOfWeek] = [fields[2], fields[4]];
  if (dayOfMonth === '?' && dayOfWeek === '?') fail('has "?" in both day-of-month and day-of-week: one of them, not both.');
  if (dayOfMonth !== '?' && dayOfWeek !== '?') {
    fail('must leave day-of-month or day-of-week as "?": Scheduler cannot match both, e.g. cron(0 3 * * ? *).');
  }
  // The parser reads the numbers field by field; say which field a number is out of.
  for (const [i, field] of CRON_FIELDS.entries()) {
    const probe = ['*', '*', '*', '*', '?', '*'];
    probe[i] = fields[i]!;
    if (i === 4) probe[2] = '?';
    try {
      awsCron.parse(probe.join(' '));
    } catch (error) {
      fail(`has ${field.name} "${fields[i]}": ${(error as Error).message.replace(/^Invalid: /, '')}.`);
    }
  }
  if (!awsCron.next(awsCron.parse(body.trim()), now)) fail('never fires from now on.');
}

function checkAt(body: string, fail: Fail): void {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
  if (!match) return fail('must be at(yyyy-mm-ddThh:mm:ss), e.g. at(2027-01-31T03:00:00).');
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const same =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  if (!same) fail(`is not a date: ${body}.`);
}
