import { ServiceUnavailable } from '../domain/errors';

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH']);

/**
 * True for failures that are DynamoDB's, not the request's: throttling past
 * the SDK's retries, a server fault, or no answer at all. Written by hand
 * because the SDK's own classifier sits in an internal smithy submodule.
 */
export function isOutage(error: unknown): boolean {
  const e = error as { name?: string; code?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
  if (!e || typeof e !== 'object') return false;
  if (e.$fault === 'server' || THROTTLING.has(e.name ?? '')) return true;
  const answered = e.$metadata?.httpStatusCode !== undefined;
  return !answered && (e.name === 'TimeoutError' || NETWORK_CODES.has(e.code ?? ''));
}

const isConditionFailure = (error: unknown): boolean =>
  (error as { name?: string })?.name === 'ConditionalCheckFailedException';

/** Runs one DynamoDB call: outages become ServiceUnavailable, anything else is rethrown as is. */
export async function call<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isOutage(error)) throw new ServiceUnavailable('The database is unavailable right now.', { cause: error });
    throw error;
  }
}

/** Runs a conditional write; a failed condition is a normal outcome of a race and returns undefined. */
export async function conditional<T>(operation: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call(operation);
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}
