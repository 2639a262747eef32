/**
 * Routing a test file's handlers through one of the DynamoDB realism proxies
 * the global setup starts in front of dynalite (see through-realism.ts and
 * through-overloaded-realism.ts, which a test file imports first).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Points DYNAMODB_ENDPOINT (read when the handlers load) at the proxy; DYNALITE_ENDPOINT keeps dynalite itself. */
export function routeHandlersThrough(proxyEndpoint: string | undefined): void {
  if (!proxyEndpoint) throw new Error('No realism proxy: run the tests with jest, whose global setup starts it.');
  process.env.DYNALITE_ENDPOINT = process.env.DYNAMODB_ENDPOINT;
  process.env.DYNAMODB_ENDPOINT = proxyEndpoint;
}

/**
 * Counts the attempts DynamoDB (here the proxy) refused as throttled, retries
 * included: a file run through the proxy shows that throttling really happened.
 */
export function countThrottledAttempts(client: DynamoDBDocumentClient): { throttled(): number } {
  let throttled = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if ((error as Error).name === 'ProvisionedThroughputExceededException') throttled += 1;
        throw error;
      }
    },
    // Below the SDK's retry middleware (finalizeRequest, high): runs once per attempt.
    { step: 'finalizeRequest', priority: 'low', name: 'countThrottledAttempts' },
  );
  return { throttled: () => throttled };
}
