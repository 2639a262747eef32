/**
 * Stored items and back: the wire fields plus their keys, the pointer and release records.
 */
import { assignmentAttributes, releaseItem, sessionItem, toPointer, toStoredSession } from '../../shared/data/items';
import { session, sessionRow, releasedRow } from './store-fixtures';

describe('item mapping', () => {
  test('items carry the wire fields plus their keys, and reading drops the keys again', () => {
    expect(sessionItem(session)).toEqual({ PK: 'SESSION#s-1', SK: '#SESSION', ...session });
    expect(assignmentAttributes('000002', 4, 99)).toEqual({
      batch_id: '000002',
      session_number: 4,
      scheduled_at: 99,
      GSI1PK: 'BATCH#000002',
      GSI1SK: 4,
    });
    const scheduledRow = { ...sessionRow, ...assignmentAttributes('000002', 4, 99) };
    expect(toStoredSession(scheduledRow)).toEqual({ ...session, assignment: { batchId: '000002', sessionNumber: 4 } });
    expect(releaseItem({ release_id: 'r', batch_id: '000001', released_at: 5, last_session_number: 2 }, 'api')).toEqual({
      PK: 'RELEASE#r',
      SK: '#RELEASE',
      release_id: 'r',
      batch_id: '000001',
      released_at: 5,
      last_session_number: 2,
      origin: 'api',
    });
    expect(toPointer(releasedRow)).toEqual({
      batchSeq: 3,
      batchId: '000003',
      lastNumber: 7,
      release: { releaseId: 'r-1', releasedAt: 1_700_000_100, origin: 'api' },
    });
    // Pointers released before origins were recorded: the workflow announced them.
    const { release_origin: _, ...olderRow } = releasedRow;
    expect(toPointer(olderRow).release?.origin).toBe('workflow');
  });
});
