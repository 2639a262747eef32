/**
 * Every key of the single table, as the README's table layout documents it.
 */
import {
  batchIndexKey,
  batchPartition,
  collectingPointerKey,
  eventKey,
  eventSortKeyPrefix,
  isSessionSortKey,
  LAYOUT_ATTRIBUTES,
  readableSortKeyEnd,
  releaseKey,
  sessionKey,
  sessionPartition,
  ubiImpressionKey,
  ubiQueryKey,
} from '../../shared/data/keys';
import { POINTER_KEY, session } from './store-fixtures';

describe('key builders', () => {
  test('build the table layout the README documents', () => {
    expect(sessionKey('a:b@c')).toEqual({ PK: 'SESSION#a:b@c', SK: '#SESSION' });
    expect(sessionPartition('x')).toBe('SESSION#x');
    expect(eventKey('s', 1_700_000_000, 'e-9')).toEqual({ PK: 'SESSION#s', SK: 'EVENT#001700000000#e-9' });
    expect(collectingPointerKey()).toEqual(POINTER_KEY);
    expect(releaseKey('r-1')).toEqual({ PK: 'RELEASE#r-1', SK: '#RELEASE' });
    expect(batchPartition('000002')).toBe('BATCH#000002');
    expect(batchIndexKey('000002', 17)).toEqual({ GSI1PK: 'BATCH#000002', GSI1SK: 17 });
    expect(eventSortKeyPrefix).toBe('EVENT#');
    expect(LAYOUT_ATTRIBUTES).toEqual(['PK', 'SK', 'GSI1PK', 'GSI1SK']);
  });

  test('a session sorts before its events, and events sort by time whatever their ids', () => {
    const keys = [eventKey('s', 10, 'a'), eventKey('s', 9, 'z'), sessionKey('s'), eventKey('s', 100, '0')].map((k) => k.SK);
    // DynamoDB orders sort keys by UTF-8 bytes, which is JavaScript's order for these ASCII keys.
    expect([...keys].sort()).toEqual(['#SESSION', 'EVENT#000000000009#z', 'EVENT#000000000010#a', 'EVENT#000000000100#0']);
    expect(isSessionSortKey('#SESSION')).toBe(true);
    expect(isSessionSortKey('EVENT#000000000009#z')).toBe(false);
  });

  test('the UBI sources sort after every event of their session, and past the end of what pages read', () => {
    expect(ubiQueryKey('s', 'ubi-0a')).toEqual({ PK: 'SESSION#s', SK: 'UBI#QUERY#ubi-0a' });
    expect(ubiImpressionKey('s', 'ubi-0b')).toEqual({ PK: 'SESSION#s', SK: 'UBI#IMPRESSION#ubi-0b' });
    // The latest event time 12 digits hold, with the id that sorts last.
    const lastEvent = eventKey('s', 999_999_999_999, '~').SK;
    for (const source of [ubiQueryKey('s', '0').SK, ubiImpressionKey('s', '0').SK]) {
      expect(lastEvent < readableSortKeyEnd && readableSortKeyEnd <= source).toBe(true);
    }
  });

});
