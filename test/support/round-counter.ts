/**
 * Counts the sequential rounds of DynamoDB calls a request makes, with an SDK
 * middleware on the client the handlers use.
 *
 * A call's span runs from when it enters the client's middleware stack until
 * its answer (or error) comes back, SDK retries included. The number of
 * rounds is the length of the longest chain of calls in which each call
 * started after the previous one had ended: the round trips a request waited
 * for one after another. Calls sent together (Promise.all) overlap, so they
 * count once; a call sent after another answered counts again. A long call
 * overlapping two dependent ones cannot hide either: they still form a chain.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { performance } from 'node:perf_hooks';

export interface CallSpan {
  /** Low-level command name, e.g. "QueryCommand". */
  command: string;
  start: number;
  end: number;
}

export interface RoundCounter {
  /** Forgets every call recorded so far (calls still in flight are not recorded). */
  reset(): void;
  /** Sequential rounds among the calls recorded since the last reset. */
  rounds(): number;
  /** How many calls were recorded since the last reset. */
  calls(): number;
  /** The recorded calls, in the order they ended. */
  spans(): CallSpan[];
  /** Removes the middleware from the client. */
  detach(): void;
}

let attached = 0;

export function countRounds(client: DynamoDBDocumentClient): RoundCounter {
  const name = `roundCounter${++attached}`;
  let generation = 0;
  let spans: CallSpan[] = [];

  client.middlewareStack.add(
    (next, context) => async (args) => {
      const startedIn = generation;
      const start = performance.now();
      try {
        return await next(args);
      } finally {
        if (startedIn === generation) spans.push({ command: context.commandName ?? 'unknown', start, end: performance.now() });
      }
    },
    // Outermost, so a span covers the SDK's retries and (un)marshalling too.
    { step: 'initialize', priority: 'high', name },
  );

  return {
    reset() {
      generation += 1;
      spans = [];
    },
    rounds: () => longestChain(spans),
    calls: () => spans.length,
    spans: () => [...spans],
    detach: () => void client.middlewareStack.remove(name),
  };
}

/** Length of the longest sequence of spans each starting at or after the end of the one before. */
export function longestChain(spans: readonly CallSpan[]): number {
  const byStart = [...spans].sort((a, b) => a.start - b.start);
  const depth: number[] = [];
  let longest = 0;
  byStart.forEach((span, i) => {
    let before = 0;
    for (let j = 0; j < i; j++) if (byStart[j]!.end <= span.start) before = Math.max(before, depth[j]!);
    depth[i] = before + 1;
    longest = Math.max(longest, depth[i]!);
  });
  return longest;
}
