/**
 * Writes sessions and events (the import command, the demo seed and tests).
 *
 * Events go in BatchWriteItem requests of 25, retrying unprocessed items:
 * an event's key is (session, created_at, event_id), so a rewrite is a no-op.
 * Sessions go one UpdateItem each, because BatchWriteItem can only Put whole
 * items, and a Put would erase the batch assignment of a scheduled session.
 */
import { BatchWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESSION_FIELDS, type Event, type Session } from '../schemas';
import { eventItem, storedSessionFields } from './items';
import { sessionKey } from './keys';

export const BATCH_WRITE_SIZE = 25;
const MAX_UNPROCESSED_ROUNDS = 10;

export class SessionWriter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async putEvents(events: readonly Event[]): Promise<void> {
    const chunks: Event[][] = [];
    for (let i = 0; i < events.length; i += BATCH_WRITE_SIZE) chunks.push(events.slice(i, i + BATCH_WRITE_SIZE));
    await Promise.all(chunks.map((chunk) => this.batchPut(chunk.map(eventItem))));
  }

  /** Writes the session's fields, removing optional ones it no longer has; never touches its batch assignment. */
  async upsertSession(session: Session): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const set: string[] = [];
    const remove: string[] = [];
    const stored = storedSessionFields(session);
    SESSION_FIELDS.forEach((field, i) => {
      names[`#f${i}`] = field;
      const value = stored[field];
      if (value === undefined) remove.push(`#f${i}`);
      else {
        values[`:f${i}`] = value;
        set.push(`#f${i} = :f${i}`);
      }
    });
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: sessionKey(session.session_id),
        UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  private async batchPut(items: Record<string, unknown>[]): Promise<void> {
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    for (let round = 0; requests.length > 0; round++) {
      if (round === MAX_UNPROCESSED_ROUNDS) throw new Error(`${requests.length} items stayed unprocessed after ${round} rounds`);
      if (round > 0) await sleep(Math.min(1000, 25 * 2 ** round) * Math.random());
      const { UnprocessedItems } = await this.db.send(
        new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
      );
      requests = (UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
