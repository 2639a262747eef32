/**
 * The schedule expression is checked at synth against EventBridge Scheduler's
 * syntax (rate, cron with six fields, at), so a typo fails `cdk synth` with a
 * sentence that says what is wrong instead of failing the deploy.
 */
import { checkScheduleExpression } from '../../infra/schedule-expression';

const NOW = new Date('2026-12-01T12:00:00Z');

test.each([
  'rate(1 minute)',
  'rate(5 minutes)',
  'rate(1 hour)',
  'rate(12 hours)',
  'rate(1 day)',
  'rate(7 days)',
  'cron(0 3 * * ? *)',
  'cron(15 10 ? * 6L 2027-2030)',
  'cron(0/15 * * * ? *)',
  'cron(0 8 1 * ? *)',
  'cron(0 18 ? * MON-FRI *)',
  'cron(0 10 ? * 2#1 *)',
  'cron(0 12 L * ? *)',
  'cron(0 9 15W * ? *)',
  'cron(0,30 1-5 ? JAN,JUL SUN *)',
  'at(2027-01-31T03:00:00)',
])('accepts %s', (expression) => {
  expect(checkScheduleExpression(expression, NOW)).toBe(expression);
});

test.each([
  ['', /rate\(\.\.\.\), cron\(\.\.\.\) or at\(\.\.\.\)/],
  ['every day', /rate\(\.\.\.\), cron\(\.\.\.\) or at\(\.\.\.\)/],
  ['cron(0 3 * * *)', /6 fields.*found 5/],
  ['cron(0 3 * * ? * *)', /6 fields.*found 7/],
  ['cron(0 3 * * * *)', /leave day-of-month or day-of-week as "\?"/],
  ['cron(0 3 1 * MON *)', /leave day-of-month or day-of-week as "\?"/],
  ['cron(0 3 ? * ? *)', /not both/],
  ['cron(61 3 * * ? *)', /minutes.*61.*0 and 59/],
  ['cron(0 24 * * ? *)', /hours.*24.*0 and 23/],
  ['cron(0 3 32 * ? *)', /day-of-month.*32/],
  ['cron(0 3 * 13 ? *)', /month.*13/],
  ['cron(0 3 ? * 8 *)', /day-of-week.*8/],
  ['cron(0 3 * * ? 1969)', /year.*1969/],
  ['cron(a b c d e f)', /minutes "a"/],
  ['cron(0 3 * * ? 2020)', /never fires/],
  ['rate(0 minutes)', /at least 1/],
  ['rate(1 minutes)', /rate\(1 minute\)/],
  ['rate(5 minute)', /rate\(5 minutes\)/],
  ['rate(2 weeks)', /minutes, hours or days/],
  ['rate(1.5 hours)', /whole number/],
  ['at(2027-02-30T03:00:00)', /not a date/],
  ['at(2027-01-31 03:00)', /yyyy-mm-ddThh:mm:ss/],
])('refuses %s with a message that says why', (expression, message) => {
  expect(() => checkScheduleExpression(expression, NOW)).toThrow(message);
  expect(() => checkScheduleExpression(expression, NOW)).toThrow(/^scheduleExpression "/);
});
