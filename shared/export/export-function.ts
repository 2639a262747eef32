/**
 * The export function, defined once like the route table's entries: the
 * stack builds it from this, grants it exactly `tableAccess` and
 * `bucketAccess`, and test/integration/grants.test.ts records every call the
 * export makes and fails when calls and grants differ.
 */
import type { BucketAccess, TableAccess } from '../routes';
import { EXPORT_PREFIX } from './layout';

export const EXPORT_FUNCTION = {
  name: 'ExportBatch',
  entry: 'functions/export-batch.ts',
  description: 'Exports a released batch to S3 (release workflow)',
  // A page's reads: the pointer (GetItem), the batch index and each session's partition (Query).
  tableAccess: { table: ['GetItem', 'Query'], index: ['Query'] } satisfies TableAccess,
  // PutObject covers the multipart calls that build an object (Create, UploadPart, Complete);
  // AbortMultipartUpload gives up a part the export stops writing.
  bucketAccess: [{ prefix: EXPORT_PREFIX, actions: ['PutObject', 'AbortMultipartUpload'] }] satisfies BucketAccess,
  /** Each workflow loop is one call: shorter calls redo less when one is killed, longer ones loop less. */
  timeoutSeconds: 300,
  /** Lambda's CPU grows with memory: gzip and JSON are the export's own work. */
  memoryMiB: 1024,
} as const;

