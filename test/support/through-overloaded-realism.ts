/**
 * As through-realism.ts, but every key is throttled at 1/300 of DynamoDB's
 * limits (3.3 WCU, 10 RCU a second): throttling often outlasts the SDK's
 * retries, and requests answer 503 with Retry-After.
 */
import { routeHandlersThrough } from './realism-routing';

routeHandlersThrough(process.env.OVERLOADED_REALISM_ENDPOINT);
