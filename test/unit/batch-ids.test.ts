import { batchIdOf, batchSeqOf } from '../../shared/domain/model';

describe('batch ids', () => {
  test('are the sequence number zero-padded to six digits, and longer when it needs more', () => {
    expect(batchIdOf(1)).toBe('000001');
    expect(batchIdOf(42)).toBe('000042');
    expect(batchIdOf(999_999)).toBe('999999');
    expect(batchIdOf(1_000_000)).toBe('1000000');
  });

  test('sort as strings in sequence order up to 999999', () => {
    const ids = [3, 20, 100, 999_999, 1].map(batchIdOf);
    expect([...ids].sort()).toEqual([1, 3, 20, 100, 999_999].map(batchIdOf));
  });

  test('read back to their sequence number', () => {
    for (const seq of [1, 2, 42, 999_999, 1_000_000, 123_456_789_012_345]) expect(batchSeqOf(batchIdOf(seq))).toBe(seq);
  });

  test.each(['1', '01', '000000', '0000001', '00001a', '-00001', '+00001', ' 000001', '000001 ', '1e5', '', '0000000000000001'])(
    '%p is not a batch id',
    (id) => {
      expect(batchSeqOf(id)).toBeUndefined();
    },
  );
});
