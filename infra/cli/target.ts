/**
 * The table a command-line tool works on: the local store of `npm start` by
 * default (127.0.0.1:$DYNAMODB_PORT, table $TABLE_NAME), or any endpoint with
 * DYNAMODB_ENDPOINT and TABLE_NAME (a deployed table included). Resolved and
 * checked the same way by every tool, before it reads its input.
 */
import { createDynamoClient } from '../../shared/data/client';
import { tableStatus } from '../../shared/data/table-status';
import { LOCAL_DEFAULTS, localStoreEndpoint, portFromEnv } from '../local/local-config';

export interface Target {
  endpoint: string;
  tableName: string;
}

export const TARGET_HELP = `Target: the local store of \`npm start\` (http://127.0.0.1:$DYNAMODB_PORT, default
${LOCAL_DEFAULTS.dynamodbPort}; table $TABLE_NAME, default "${LOCAL_DEFAULTS.tableName}"), or any endpoint
with DYNAMODB_ENDPOINT (e.g. https://dynamodb.eu-west-1.amazonaws.com) and TABLE_NAME.`;

export function resolveTarget(env: NodeJS.ProcessEnv = process.env): Target {
  return {
    endpoint: env.DYNAMODB_ENDPOINT || localStoreEndpoint(portFromEnv('DYNAMODB_PORT', LOCAL_DEFAULTS.dynamodbPort)),
    tableName: env.TABLE_NAME || LOCAL_DEFAULTS.tableName,
  };
}

/**
 * Says plainly when nothing answers at the endpoint or the table is missing.
 * Anything else (e.g. no dynamodb:DescribeTable permission) is left for the
 * tool's own calls to report.
 */
export async function checkTarget({ endpoint, tableName }: Target): Promise<void> {
  const client = createDynamoClient({ endpoint, maxAttempts: 1 });
  try {
    const table = await tableStatus(client, tableName);
    if (table.status === 'missing') {
      throw new Error(`No table "${tableName}" at ${endpoint}. Start the local service with \`npm start\`, or set TABLE_NAME.`);
    }
    if (table.status === 'unreachable') {
      throw new Error(`Nothing answers at ${endpoint}. Start the local service with \`npm start\`, or set DYNAMODB_ENDPOINT.`);
    }
  } finally {
    client.destroy();
  }
}
