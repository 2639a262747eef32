/**
 * Batches as the invariant tests walk them, through the real handlers.
 */
import { batchSeqOf } from '../../shared/domain/model';
import { pageOverHttp, releaseOverHttp, uniqueId } from './handlers';

export const seq = (batchId: string): number => {
  const n = batchSeqOf(batchId);
  if (n === undefined) throw new Error(`not a batch id: ${batchId}`);
  return n;
};

export /** Releases whatever is collecting, so the next schedule opens a new batch. */
async function freshBatch(): Promise<void> {
  const answer = await releaseOverHttp(uniqueId('r-fresh'));
  expect([200, 404]).toContain(answer.status);
}

export /** Every session of a batch, walking it by last_number. */
async function walkBatch(batchId: string, limit = 100): Promise<Array<{ session_id: string; session_number: number; events: unknown[] }>> {
  const sessions = [];
  let after = 0;
  for (;;) {
    const page = await pageOverHttp({ batch_id: batchId, after_number: after, limit });
    expect(page.status).toBe(200);
    if (page.body.sessions.length === 0) {
      expect(page.body.last_number).toBeNull();
      return sessions;
    }
    expect(page.body.sessions.length).toBeLessThanOrEqual(limit);
    // Every page moves forward: a page repeating what came before would never end the walk.
    expect(page.body.sessions[0].session_number).toBeGreaterThan(after);
    sessions.push(...page.body.sessions);
    expect(page.body.last_number).toBe(page.body.sessions.at(-1).session_number);
    after = page.body.last_number;
  }
}
