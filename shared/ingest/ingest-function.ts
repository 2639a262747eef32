/**
 * The ingest function, defined once like the route table's entries: the
 * stack builds it and its queue from this and grants it exactly
 * `tableAccess` and `bucketAccess` (and SendMessage to its own queue, for
 * continuations); test/integration/grants.test.ts records every call an
 * ingest makes and fails when calls and grants differ.
 */
import type { BucketAccess, TableAccess } from '../routes';
import { INGEST_PREFIXES, REPORT_PREFIX } from './object-import';

export const INGEST_FUNCTION = {
  name: 'IngestObject',
  entry: 'functions/ingest-object.ts',
  description: 'Imports objects created under incoming/ of the ingest bucket (S3 notifications through SQS)',
  // The import: the pointer (GetItem), where sessions sit (BatchGetItem), events and UBI sources (BatchWriteItem),
  // a UBI session's sources read back (Query), sessions (UpdateItem).
  tableAccess: { table: ['GetItem', 'BatchGetItem', 'BatchWriteItem', 'Query', 'UpdateItem'], index: [] } satisfies TableAccess,
  bucketAccess: [
    { prefix: INGEST_PREFIXES.jsonl, actions: ['GetObject'] },
    { prefix: INGEST_PREFIXES.ubi, actions: ['GetObject'] },
    // Reports are read (an object already imported, a checkpoint to resume from) and written.
    { prefix: REPORT_PREFIX, actions: ['GetObject', 'PutObject'] },
  ] satisfies BucketAccess,
  /** A call stops starting chunks INGEST_TIME_RESERVE_MS before this and continues in a later one. */
  timeoutSeconds: 300,
  /** Lambda's CPU grows with memory: gunzip, JSON and validation are the ingest's own work. */
  memoryMiB: 1024,
  queue: {
    /** Objects per call at most; they are imported one after another. */
    batchSize: 10,
    /** Calls at once: bounds the write load on the table (each call has up to 16 writes in flight). */
    maxConcurrency: 5,
    /** Deliveries of a message before it goes to the dead-letter queue. */
    maxReceiveCount: 5,
    /** Lambda's advice for an SQS source: at least six times the function's timeout. */
    visibilityTimeoutSeconds: 6 * 300,
    /** The longest SQS keeps a message: time to look at a dead letter and redrive it. */
    deadLetterRetentionDays: 14,
  },
} as const;
