/**
 * Stored items and back: the wire fields plus their keys, assignments (their
 * own item, or the counter layout's attributes on the session item), the
 * pointer, shards, and the release record.
 */
import {
  assignmentItem,
  legacyAssignmentAttributes,
  releaseItem,
  sessionItem,
  toPointer,
  toRelease,
  toShard,
  toStoredSession,
} from '../../shared/data/items';
import { session, sessionRow, releasedRow } from './store-fixtures';

describe('item mapping', () => {
  test('items carry the wire fields plus their keys, and reading drops the keys again', () => {
    expect(sessionItem(session)).toEqual({ PK: 'SESSION#s-1', SK: '#SESSION', ...session });
    expect(toStoredSession(sessionRow)).toEqual(session);
    expect(releaseItem({ release_id: 'r', batch_id: '000001', released_at: 5 }, 'api')).toEqual({
      PK: 'RELEASE#r',
      SK: '#RELEASE',
      release_id: 'r',
      batch_id: '000001',
      released_at: 5,
      origin: 'api',
    });
  });

  test('a session’s assignment comes from its own item, or from the session item the counter layout wrote it on', () => {
    const own = assignmentItem('s-1', { batchId: '000004', sessionNumber: 8_192_000 }, 99);
    expect(own).toEqual({ PK: 'SESSION#s-1', SK: '#ASSIGNMENT', session_id: 's-1', batch_id: '000004', session_number: 8_192_000, scheduled_at: 99 });
    expect(toStoredSession(sessionRow, own)).toEqual({ ...session, assignment: { batchId: '000004', sessionNumber: 8_192_000 } });
    const legacy = { ...sessionRow, ...legacyAssignmentAttributes('000002', 4, 99) };
    expect(legacyAssignmentAttributes('000002', 4, 99)).toEqual({
      batch_id: '000002',
      session_number: 4,
      scheduled_at: 99,
      GSI1PK: 'BATCH#000002',
      GSI1SK: 4,
    });
    expect(toStoredSession(legacy)).toEqual({ ...session, assignment: { batchId: '000002', sessionNumber: 4 } });
  });

  test('pointers, sharded or from the counter layout, and shards', () => {
    expect(toPointer(releasedRow)).toEqual({
      batchSeq: 3,
      batchId: '000003',
      lastNumber: 7,
      release: { releaseId: 'r-1', releasedAt: 1_700_000_100, origin: 'api' },
    });
    // Pointers released before origins were recorded: the workflow announced them.
    const { release_origin: _, ...olderRow } = releasedRow;
    expect(toPointer(olderRow).release?.origin).toBe('workflow');
    expect(toPointer({ batch_seq: 2, batch_id: '000002', opened_at: 5, shards: 16, number_floor: 0 })).toEqual({
      batchSeq: 2,
      batchId: '000002',
      openedAt: 5,
      shards: 16,
      numberFloor: 0,
    });
    expect(toShard(3, { batch_seq: 2, opened_at: 5, release_id: 'r' })).toEqual({ shard: 3, batchSeq: 2, openedAt: 5, numberFloor: 0, fenced: true });
  });

  test('a release record keeps last_session_number only where it has one (batches the counter layout numbered)', () => {
    expect(toRelease({ release_id: 'r', batch_id: '000001', released_at: 5 })).toEqual({ release_id: 'r', batch_id: '000001', released_at: 5 });
    expect(toRelease({ release_id: 'r', batch_id: '000001', released_at: 5, last_session_number: 9 })).toMatchObject({ last_session_number: 9 });
  });
});
