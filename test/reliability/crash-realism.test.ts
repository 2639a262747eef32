/**
 * Crash safety again, through the DynamoDB realism proxy: index entries
 * appear late and every key is throttled at a hundredth of DynamoDB's
 * limits, so the SDK's retries run under every crash. Left to the pace of
 * the test, the buckets rarely empty (and on a slow machine never do), so
 * before each crashed request the file empties the read bucket of the
 * collecting pointer, which every schedule and release reads: the request's
 * first read of it is throttled and retried. The file checks that the
 * handlers' requests really were throttled.
 */
import '../support/through-realism';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../shared/data/client';
import { collectingPointerKey } from '../../shared/data/keys';
import { documentClient, table } from '../../shared/data/store-from-env';
import { interceptCalls } from '../support/call-interceptor';
import { countThrottledAttempts } from '../support/realism-routing';
import { createTestTable } from '../support/handlers';
import { describeCrashSafety } from '../integration/crash-safety';

const calls = interceptCalls(documentClient);
const throttles = countThrottledAttempts(documentClient);
// Not the handlers' client, so its own refusals are not counted above; one attempt each.
const drainer = createDocumentClient({ endpoint: process.env.DYNAMODB_ENDPOINT, maxAttempts: 1 });

/** Reads the pointer (1 RCU each, strongly consistent) until the proxy refuses: its bucket is then empty. */
async function emptyPointerReadBucket(): Promise<void> {
  for (let reads = 0; reads < 500; reads++) {
    try {
      await drainer.send(new GetCommand({ TableName: table.tableName, Key: collectingPointerKey(), ConsistentRead: true }));
    } catch (error) {
      if ((error as Error).name === 'ProvisionedThroughputExceededException') return;
      throw error;
    }
  }
  throw new Error('500 reads of one key in a row were never throttled: is the realism proxy throttling?');
}

beforeAll(createTestTable);
afterAll(() => drainer.destroy());
afterAll(() => expect(throttles.throttled()).toBeGreaterThan(0));

describeCrashSafety(calls, { beforeCrashedRequest: emptyPointerReadBucket });
