/**
 * Import this first in a test file (before anything that loads the handlers
 * or the data layer): its handlers then go through the realism proxy where
 * index entries appear 250 ms after their write and every partition key
 * value is throttled at 1/100 of DynamoDB's per-key limits (10 WCU and 30 RCU
 * a second, one second of burst), with DynamoDB's own throttling error: the
 * SDK's retries absorb most of it (settings: global-setup.ts).
 */
import { routeHandlersThrough } from './realism-routing';

routeHandlersThrough(process.env.REALISM_ENDPOINT);
