/**
 * Writes sessions and events (the import command, the demo seed and tests).
 *
 * Events go in BatchWriteItem requests of 25, retrying unprocessed items:
 * an event's key is (session, created_at, event_id), so a rewrite is a no-op.
 * Sessions go one UpdateItem each, because BatchWriteItem can only Put whole
 * items, and a Put would erase the batch assignment of a scheduled session.
 * UBI sources (query documents, impressions) go like events, keyed by their
 * content, and a UBI session is rewritten from all of its sources.
 */
import { BatchWriteCommand, GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Assignment, CollectingPointer } from '../domain/model';
import type { UbiImpressionSource, UbiQuerySource } from '../domain/ubi-session';
import type { Event, Session } from '../schemas';
import { backoff, batchGetAll, MAX_UNPROCESSED_ROUNDS } from './batch-get';
import { call, conditional } from './errors';
import { expression } from './expressions';
import {
  eventItem,
  storedSessionFields,
  toAssignment,
  toPointer,
  toUbiImpressionSource,
  toUbiQuerySource,
  UBI_SOURCE_COUNT,
  ubiImpressionItem,
  ubiQueryItem,
} from './items';
import { assignmentKey, collectingPointerKey, isUbiImpressionSortKey, isUbiQuerySortKey, sessionKey, sessionPartition, ubiSourceSortKeyPrefix } from './keys';
import { TABLE } from './table';

export const BATCH_WRITE_SIZE = 25;

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

  /**
   * Where each of these sessions sits, for those scheduled, and the collecting
   * pointer: what an import checks its lines against right before writing them.
   */
  async readImportState(sessionIds: readonly string[]): Promise<ImportState> {
    const [pointer, found] = await Promise.all([
      this.db.send(new GetCommand({ TableName: this.tableName, Key: collectingPointerKey(), ConsistentRead: true })),
      // Each session's assignment item, and its session item for sessions the counter layout scheduled.
      batchGetAll(this.db, this.tableName, sessionIds.flatMap((id) => [assignmentKey(id), sessionKey(id)]), {
        attributes: [TABLE.partitionKey, TABLE.sortKey, 'session_id', 'batch_id', 'session_number'],
      }),
    ]);
    const assignments = new Map<string, Assignment>();
    for (const item of found) {
      const assignment = toAssignment(item);
      if (assignment) assignments.set(item.session_id as string, assignment);
    }
    return { assignments, pointer: pointer.Item && toPointer(pointer.Item) };
  }

  /** Writes the session's fields, removing optional ones it no longer has; never touches its batch assignment. */
  async upsertSession(session: Session): Promise<void> {
    const upsert = expression().set(storedSessionFields(session));
    await call(() => this.db.send(new UpdateCommand({ TableName: this.tableName, Key: sessionKey(session.session_id), ...upsert.build() })));
  }

  /** Stores UBI query documents and impressions in their sessions' partitions; the same source again is a no-op rewrite. */
  async putUbiSources(sources: readonly UbiSource[]): Promise<void> {
    const items = sources.map((s) => ('query' in s ? ubiQueryItem(s.sessionId, s.query) : ubiImpressionItem(s.sessionId, s.impression)));
    const chunks: Record<string, unknown>[][] = [];
    for (let i = 0; i < items.length; i += BATCH_WRITE_SIZE) chunks.push(items.slice(i, i + BATCH_WRITE_SIZE));
    await Promise.all(chunks.map((chunk) => this.batchPut(chunk)));
  }

  /** Every UBI source stored for the session: one strongly consistent Query of its partition's UBI range. */
  async readUbiSources(sessionId: string): Promise<UbiSources> {
    const sources: UbiSources = { sessionId, queries: [], impressions: [] };
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await call(() =>
        this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :ubi)',
            ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey },
            ExpressionAttributeValues: { ':pk': sessionPartition(sessionId), ':ubi': ubiSourceSortKeyPrefix },
            ConsistentRead: true,
            ExclusiveStartKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        if (isUbiQuerySortKey(item[TABLE.sortKey])) sources.queries.push(toUbiQuerySource(item));
        else if (isUbiImpressionSortKey(item[TABLE.sortKey])) sources.impressions.push(toUbiImpressionSource(item));
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return sources;
  }

  /**
   * Writes a session recomputed from `sourceCount` UBI sources, unless a
   * recompute from more of them already did (see UBI_SOURCE_COUNT); false then.
   * Like upsertSession, it never touches the batch assignment.
   */
  async upsertUbiSession(session: Session, sourceCount: number): Promise<boolean> {
    const upsert = expression()
      .set({ ...storedSessionFields(session), [UBI_SOURCE_COUNT]: sourceCount })
      .where((e) => `attribute_not_exists(${e.name(UBI_SOURCE_COUNT)}) OR ${e.name(UBI_SOURCE_COUNT)} <= ${e.value(sourceCount)}`);
    const written = await conditional(() =>
      this.db.send(new UpdateCommand({ TableName: this.tableName, Key: sessionKey(session.session_id), ...upsert.build() })),
    );
    return written !== undefined;
  }

  private async batchPut(items: Record<string, unknown>[]): Promise<void> {
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    for (let round = 0; requests.length > 0; round++) {
      if (round === MAX_UNPROCESSED_ROUNDS) throw new Error(`${requests.length} items stayed unprocessed after ${round} rounds`);
      if (round > 0) await backoff(round);
      const { UnprocessedItems } = await this.db.send(
        new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
      );
      requests = (UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
    }
  }
}

/** One UBI source to store, with the session it belongs to. */
export type UbiSource = { sessionId: string } & ({ query: UbiQuerySource } | { impression: UbiImpressionSource });

/** The UBI sources of one session. */
export interface UbiSources {
  sessionId: string;
  queries: UbiQuerySource[];
  impressions: UbiImpressionSource[];
}

/** Where the sessions an import is about to write sit, and which batches are released. */
export interface ImportState {
  assignments: Map<string, Assignment>;
  pointer: CollectingPointer | undefined;
}

