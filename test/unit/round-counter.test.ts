import { longestChain, type CallSpan } from '../support/round-counter';

const span = (start: number, end: number): CallSpan => ({ command: 'GetItemCommand', start, end });

describe('longestChain (the round counter’s definition of a round)', () => {
  test('no calls is 0 rounds; overlapping calls are 1', () => {
    expect(longestChain([])).toBe(0);
    expect(longestChain([span(0, 10), span(1, 5), span(2, 12)])).toBe(1);
  });

  test('calls each sent after the previous answered are one round each', () => {
    expect(longestChain([span(0, 1), span(1, 2), span(3, 4)])).toBe(3);
  });

  test('a parallel round followed by another parallel round is 2, however many calls each holds', () => {
    const first = [span(0, 3), span(0.1, 2)];
    const second = Array.from({ length: 100 }, (_, i) => span(3 + i / 1000, 6));
    expect(longestChain([...second, ...first])).toBe(2);
  });

  test('a long call overlapping two dependent calls does not merge them into one round', () => {
    expect(longestChain([span(0, 10), span(1, 2), span(3, 4)])).toBe(2);
  });
});
