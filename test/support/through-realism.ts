/**
 * Import this first in a test file (before anything that loads the handlers
 * or the data layer) to run the file's handlers through the DynamoDB realism
 * proxy the global setup starts in front of dynalite: index entries appear
 * only a while after their write (REALISM_SETTINGS in global-setup.ts), and every partition key value is
 * throttled at a hundredth of DynamoDB's per-key limits (10 WCU and 30 RCU a
 * second, one second of burst), answering with DynamoDB's own throttling
 * error so the SDK's retries run.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

if (process.env.REALISM_ENDPOINT) process.env.DYNAMODB_ENDPOINT = process.env.REALISM_ENDPOINT;

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
