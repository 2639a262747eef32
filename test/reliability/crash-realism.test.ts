/**
 * Crash safety again, through the DynamoDB realism proxy: index entries
 * appear late and every key is throttled at a hundredth of DynamoDB's
 * limits, so the SDK's retries run under every crash. The file checks that
 * throttling really happened.
 */
import '../support/through-realism';
import { documentClient } from '../../shared/data/store-from-env';
import { interceptCalls } from '../support/call-interceptor';
import { countThrottledAttempts } from '../support/realism-routing';
import { createTestTable } from '../support/handlers';
import { describeCrashSafety } from '../integration/crash-safety';

const calls = interceptCalls(documentClient);
const throttles = countThrottledAttempts(documentClient);

beforeAll(createTestTable);
afterAll(() => expect(throttles.throttled()).toBeGreaterThan(0));

describeCrashSafety(calls);
