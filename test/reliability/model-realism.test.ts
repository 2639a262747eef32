/**
 * The model test (model-check.ts) through the realism proxy: index entries
 * appear late and every key is throttled at 1/300 of DynamoDB's
 * limits, often past the SDK's retries, so requests also answer 503. The
 * file checks that throttling really happened.
 */
import '../support/through-overloaded-realism';
import { documentClient } from '../../shared/data/store-from-env';
import { countThrottledAttempts } from '../support/realism-routing';
import { describeModel } from './model-check';

const throttles = countThrottledAttempts(documentClient);
afterAll(() => expect(throttles.throttled()).toBeGreaterThan(0));

describeModel({ runs: Number(process.env.MODEL_REALISM_RUNS ?? 30), throttled: true });
