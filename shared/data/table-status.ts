/**
 * Whether a table can be used, in one DescribeTable: the local store's
 * ensureTable and the command-line tools ask this before they start, so a
 * missing table or a store that does not answer is a sentence, not a stack trace.
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT']);

export type TableStatus =
  | { status: 'ready' }
  | { status: 'missing' }
  | { status: 'unreachable'; error: unknown }
  /** Anything else, e.g. no dynamodb:DescribeTable permission: left for the table's own calls to report. */
  | { status: 'unknown'; error: unknown };

export async function tableStatus(client: Pick<DynamoDBClient, 'send'>, tableName: string): Promise<TableStatus> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return { status: 'ready' };
  } catch (error) {
    const { name, code } = error as { name?: string; code?: string };
    if (name === 'ResourceNotFoundException') return { status: 'missing' };
    if (UNREACHABLE_CODES.has(code ?? '')) return { status: 'unreachable', error };
    return { status: 'unknown', error };
  }
}
