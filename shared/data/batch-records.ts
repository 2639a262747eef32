/** The batch records, read by batch id (the batch list; no handler needs it). */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BatchRecord, BatchRecordReader } from '../domain/store';
import { batchGetAll } from './batch-get';
import { toBatchRecord } from './items';
import { batchRecordKey } from './keys';

export class DynamoBatchRecords implements BatchRecordReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async readBatchRecords(batchIds: readonly string[]): Promise<Map<string, BatchRecord>> {
    const found = await batchGetAll(this.db, this.tableName, batchIds.map(batchRecordKey));
    return new Map(found.map((item) => [item.batch_id as string, toBatchRecord(item)]));
  }
}
