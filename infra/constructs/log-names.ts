import { Names } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/**
 * A log group name under /aws/vendedlogs/ for a group an AWS service writes
 * to (Step Functions execution logs, API Gateway access logs). Those services
 * add each log group they deliver to to the account's CloudWatch Logs
 * resource policy, which is capped at 5,120 characters; groups under this
 * prefix are covered by one wildcard entry instead, so a stack that comes and
 * goes (or many of them in one account) never fills it. The rest of the name
 * is generated from the construct path, so it is unique per stack and never
 * hard-coded.
 */
export function vendedLogGroupName(scope: Construct, id: string, service: string): string {
  return `/aws/vendedlogs/${service}/${Names.uniqueResourceName(scope, { maxLength: 200, separator: '-' })}-${id}`;
}
