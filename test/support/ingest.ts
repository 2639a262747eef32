/**
 * Objects in this test file's bucket on the jest run's S3 server, imported as
 * the ingest function imports them, and what they are compared with.
 */
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { documentClient } from '../../shared/data/store-from-env';
import { importObject, reportKeyOf, type ObjectImportInput, type ObjectReport } from '../../shared/ingest/object-import';
import { makeEvent, makeSession, uniqueId } from './fixtures';
import { readObject, testBucket, testS3 } from './export';
import { writer } from './handlers';
import { scanTable } from './scan-table';

export const putObject = async (key: string, body: string | Uint8Array) => {
  await testS3().send(new PutObjectCommand({ Bucket: testBucket(), Key: key, Body: body }));
};

export const deleteObject = async (key: string) => {
  await testS3().send(new DeleteObjectCommand({ Bucket: testBucket(), Key: key }));
};

/** Imports one object of this file's bucket, as the ingest function does. */
export const ingest = (key: string, options: Partial<ObjectImportInput> = {}) =>
  importObject({ s3: testS3(), bucket: testBucket(), key, writer: writer(), ...options });

export const readReport = async (key: string): Promise<ObjectReport> =>
  JSON.parse((await readObject(reportKeyOf(key))).toString('utf8')) as ObjectReport;

export const scan = () => scanTable(documentClient, process.env.TABLE_NAME!);

/** `count` session lines of the JSON Lines import format, each with `events` events, under fresh ids. */
export function jsonlSessions(count: number, events = 2, fillerBytes = 0): { ids: string[]; text: string } {
  const prefix = uniqueId('ing');
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const filler = 'x'.repeat(fillerBytes);
  const text = ids
    .map((id) =>
      JSON.stringify({
        ...makeSession({ session_id: id, ...(fillerBytes ? { search_meta: { filler } } : {}) }),
        events: Array.from({ length: events }, (_, e) => makeEvent(id, { event_id: `${id}-e${e}`, created_at: 1_790_000_000 + e })),
      }),
    )
    .join('\n');
  return { ids, text: `${text}\n` };
}
