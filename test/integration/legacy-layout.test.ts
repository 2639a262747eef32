/**
 * A table the counter layout wrote, taken over by this version: its released
 * batch pages as before and its release replays; its sessions stay where
 * they were scheduled; the batch it was collecting takes new, sharded
 * sessions numbered above its counter, pages them after its own in order,
 * and is released like any other.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../shared/data/store-from-env';
import { TABLE } from '../../shared/data/table';
import { legacyReleaseAndOpenNext, legacySchedule } from '../support/legacy-layout';
import { createTestTable, pageOverHttp, releaseOverHttp, scheduleOverHttp, seedSession } from '../support/handlers';

const tableName = process.env.TABLE_NAME!;
const old = { released: [] as string[], collecting: [] as string[] };
let oldRelease: { batch_id: string; last_session_number: number };

beforeAll(async () => {
  await createTestTable();
  for (let i = 0; i < 3; i++) {
    const id = await seedSession();
    await legacySchedule(documentClient, tableName, id, 1_700_000_000 + i);
    old.released.push(id);
  }
  oldRelease = await legacyReleaseAndOpenNext(documentClient, tableName, 'old-release', 1_700_000_100);
  for (let i = 0; i < 2; i++) {
    const id = await seedSession();
    await legacySchedule(documentClient, tableName, id, 1_700_000_200 + i);
    old.collecting.push(id);
  }
});

/** Every session of a batch, walked by last_number two at a time, as `id#number`. */
async function walk(batchId: string): Promise<{ state: string; served: string[] }> {
  const served: string[] = [];
  let after = 0;
  let state = '';
  for (let pages = 0; pages < 20; pages++) {
    const { status, body } = await pageOverHttp({ batch_id: batchId, after_number: after, limit: 2 });
    expect(status).toBe(200);
    state = body.state;
    if (body.sessions.length === 0) return { state, served };
    served.push(...body.sessions.map((s: { session_id: string; session_number: number }) => `${s.session_id}#${s.session_number}`));
    after = body.last_number;
  }
  throw new Error('the walk did not end');
}

test('the released batch pages as the counter layout numbered it, and its release replays identically', async () => {
  expect(oldRelease).toEqual({ release_id: 'old-release', batch_id: '000001', released_at: 1_700_000_100, last_session_number: 3 });
  expect(await walk('000001')).toEqual({ state: 'released', served: old.released.map((id, i) => `${id}#${i + 1}`) });
  expect(await releaseOverHttp('old-release')).toMatchObject({ status: 200, body: oldRelease });
});

test('sessions it scheduled are already scheduled where they sit', async () => {
  expect((await scheduleOverHttp(old.released[1]!)).body).toMatchObject({ status: 'already_scheduled', batch_id: '000001', session_number: 2 });
  expect((await scheduleOverHttp(old.collecting[0]!)).body).toMatchObject({ status: 'already_scheduled', batch_id: '000002', session_number: 1 });
});

test('the batch it was collecting takes sharded sessions above its counter, pages them after its own, and is released', async () => {
  const fresh = [await seedSession(), await seedSession(), await seedSession()];
  const numbers: number[] = [];
  for (const id of fresh) {
    const { body } = await scheduleOverHttp(id);
    expect(body).toMatchObject({ status: 'scheduled', batch_id: '000002' });
    numbers.push(body.session_number);
  }
  for (const n of numbers) expect(n).toBeGreaterThan(2);
  // They are not written to the index: only the counter layout's sessions are listed there.
  const { Items = [] } = await documentClient.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: TABLE.gsi1.indexName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': TABLE.gsi1.partitionKey },
      ExpressionAttributeValues: { ':pk': 'BATCH#000002' },
    }),
  );
  expect(Items.map((item) => item.session_id)).toEqual(old.collecting);

  const expected = [
    ...old.collecting.map((id, i) => `${id}#${i + 1}`),
    ...fresh.map((id, i) => `${id}#${numbers[i]}`).sort((a, b) => Number(a.split('#')[1]) - Number(b.split('#')[1])),
  ];
  expect(await walk('000002')).toEqual({ state: 'collecting', served: expected });

  const release = await releaseOverHttp('new-release');
  expect(release).toMatchObject({ status: 200, body: { release_id: 'new-release', batch_id: '000002' } });
  expect(await walk('000002')).toEqual({ state: 'released', served: expected });
  const next = await scheduleOverHttp(await seedSession());
  expect(next.body).toMatchObject({ status: 'scheduled', batch_id: '000003' });
});
