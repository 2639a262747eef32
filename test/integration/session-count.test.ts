/**
 * countSessions, behind the `npm start` banner: it counts session items only
 * (not events or batch records) and follows the Scan past its 1 MB pages.
 */
import { countSessions } from '../../shared/data/session-count';
import { documentClient } from '../../shared/data/store-from-env';
import { countRounds } from '../support/round-counter';
import { createTestTable, makeSession, seedSession, uniqueId, writer } from '../support/handlers';

beforeAll(createTestTable);

test('counts every session across Scan pages, and nothing else', async () => {
  const table = process.env.TABLE_NAME!;
  // 300 sessions of about 4 KB: over DynamoDB's 1 MB Scan page, so the count needs two pages or more.
  const blob = 'x'.repeat(4 * 1024);
  const ids = Array.from({ length: 300 }, () => uniqueId('count'));
  await Promise.all(ids.map((session_id) => writer().upsertSession(makeSession({ session_id, search_meta: { blob } }))));
  await seedSession({}, 3);

  const counter = countRounds(documentClient);
  try {
    expect(await countSessions(documentClient, table)).toBe(301);
    expect(counter.calls()).toBeGreaterThan(1);
  } finally {
    counter.detach();
  }
});
