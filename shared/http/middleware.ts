import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as v from 'valibot';
import { InvalidRequest, ServiceUnavailable } from '../domain/errors';
import { countFailure, logger, metrics } from '../observability';
import { describeIssues } from '../schemas';
import { answerFor, errorResponse } from './errors';
import { jsonBody } from './json-body';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/**
 * How long before Lambda's timeout a handler stops waiting and answers: enough
 * to map the error, publish metrics and return, which Lambda could not do once
 * it kills the function (Step Functions would then see Sandbox.Timedout).
 */
export const TIMEOUT_MARGIN_MS = 500;

/**
 * Running out of time is an outage like any other (a DynamoDB call that does
 * not answer): a 503 over HTTP, a retried ServiceUnavailable in the workflow,
 * instead of middy's TimeoutError, which callers would take for a bug.
 */
const MIDDY_OPTIONS = {
  timeoutEarlyInMillis: TIMEOUT_MARGIN_MS,
  timeoutEarlyResponse: () => {
    throw new ServiceUnavailable('The request ran out of time before the database answered; try again.');
  },
};

/**
 * Counts a failed invocation by its error code and logs outages (warn) and
 * bugs (error); client mistakes are only counted. HTTP and Step Functions
 * invocations report failures the same way.
 */
export function recordFailure(error: unknown) {
  const answer = answerFor(error);
  countFailure(answer.code);
  if (answer.status >= 500) {
    const level = answer.status === 503 ? 'warn' : 'error';
    logger[level](answer.message, { error: error as Error });
  }
  return answer;
}

/**
 * What every handler shares, HTTP or not: the early timeout above, Powertools
 * logger context (keys reset per invocation) and metrics published after each
 * invocation. onError runs in reverse order of use, so middlewares added later
 * see an error first.
 */
function baseStack<TEvent, TResult>(handle: (event: TEvent, context: Context) => Promise<TResult>) {
  return middy<TEvent, TResult>(handle, MIDDY_OPTIONS)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}

/** Turns any thrown error into the contract's JSON error. */
const errorResponses = (): MiddlewareObj<HttpEvent, HttpResult> => ({
  onError: async (request) => {
    request.response = errorResponse(recordFailure(request.error));
  },
});

/**
 * The middy stack every HTTP handler shares: error mapping, Powertools
 * logger context and metrics and, for handlers with a
 * body, the body rules of json-body.ts (not JSON by content type → 415,
 * malformed JSON, a repeated key or a query string → 400).
 */
export function httpHandler(
  handle: (event: HttpEvent, context: Context) => Promise<HttpResult>,
  options: { jsonBody: boolean },
) {
  // No header normalizer: an HTTP API's payload v2 lower-cases every header name already (as the local adapter does).
  const stack = baseStack(handle).use(errorResponses());
  return options.jsonBody ? stack.use(jsonBody()) : stack;
}

/**
 * For invocations that are not HTTP (Step Functions, SQS): the base stack, and
 * failures counted and logged like HTTP ones, then rethrown as they are so the
 * caller can catch or retry them by name.
 */
export function invocationHandler<TResult, TEvent = unknown>(handle: (event: TEvent, context: Context) => Promise<TResult>) {
  return baseStack(handle).use({ onError: async ({ error }) => void recordFailure(error) });
}

/** Validates input against a schema; a mismatch is a 400 that names the field. */
export function parseInput<TSchema extends v.GenericSchema>(schema: TSchema, input: unknown): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, input);
  if (!result.success) throw new InvalidRequest(sentence(describeIssues(result.issues), result.issues));
  return result.output;
}

/** The issues as a sentence: a field leading it is named exactly as sent, anything else starts with a capital. */
function sentence(text: string, issues: readonly v.BaseIssue<unknown>[]): string {
  const field = issues[0] && v.getDotPath(issues[0]);
  const lead = field && text.startsWith(field) ? text : text.charAt(0).toUpperCase() + text.slice(1);
  return `${lead}.`;
}
