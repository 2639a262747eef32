import { createTestTable, pageOverHttp, releaseDirect, releaseOverHttp, scheduleOverHttp, seedSession, uniqueId } from '../support/handlers';

beforeAll(createTestTable);

test('schedule, page, release round trip', async () => {
  const id = await seedSession({}, 3);
  const scheduled = await scheduleOverHttp(id);
  expect(scheduled).toMatchObject({ status: 200, body: { status: 'scheduled', batch_id: '000001', session_number: 1 } });
  const again = await scheduleOverHttp(id);
  expect(again.body).toMatchObject({ status: 'already_scheduled', batch_id: '000001', session_number: 1 });
  const page = await pageOverHttp({ batch_id: '000001' });
  expect(page.status).toBe(200);
  expect(page.body.sessions[0].events).toHaveLength(3);
  const rid = uniqueId('r');
  const released = await releaseOverHttp(rid);
  expect(released.body).toMatchObject({ release_id: rid, batch_id: '000001' });
  expect((await releaseOverHttp(rid)).body).toEqual(released.body);
  expect((await releaseOverHttp(uniqueId('r'))).body.error.code).toBe('no_collecting_batch');
  await expect(releaseDirect({ release_id: uniqueId('r') })).rejects.toMatchObject({ name: 'NoCollectingBatch' });
  const id2 = await seedSession({}, 1);
  expect((await scheduleOverHttp(id2)).body).toMatchObject({ batch_id: '000002', session_number: 1 });
});
