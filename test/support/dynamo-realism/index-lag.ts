/**
 * Optional index lag: an index Query does not show an item's entry until
 * `lagMs` after the last write, seen by the proxy, that added, moved or
 * changed that entry.
 *
 * What this model leaves out of a real global secondary index:
 * - the entry's previous state: a changed entry is hidden rather than shown
 *   with its old attributes, a moved entry is not shown under its old key,
 *   and a removed entry disappears at once (dynalite has already dropped them);
 * - variable lag: every entry lags by exactly lagMs, where DynamoDB's lag is
 *   usually under a second with no upper bound, and differs between entries;
 * - a Query with a FilterExpression gets Count and ScannedCount lowered only
 *   by the hidden entries it can see, and a page may come back shorter than
 *   its Limit (with LastEvaluatedKey, so paging still covers everything);
 * - Scans of an index, and writes made to the store without the proxy.
 */
import { performance } from 'node:perf_hooks';

export class IndexLag {
  /** Time of the last write per (index, item), oldest first (a rewrite moves to the end). */
  private readonly writtenAt = new Map<string, number>();

  constructor(private lagMs: number) {}

  setLag(lagMs: number): void {
    this.lagMs = lagMs;
  }

  noteWrite(indexId: string, itemId: string): void {
    if (this.lagMs <= 0) return;
    const id = `${indexId}\u0000${itemId}`;
    this.writtenAt.delete(id);
    this.writtenAt.set(id, performance.now());
    this.forgetVisible();
  }

  isHidden(indexId: string, itemId: string): boolean {
    const at = this.writtenAt.get(`${indexId}\u0000${itemId}`);
    return at !== undefined && performance.now() - at < this.lagMs;
  }

  private forgetVisible(): void {
    const now = performance.now();
    for (const [id, at] of this.writtenAt) {
      if (now - at < this.lagMs) break;
      this.writtenAt.delete(id);
    }
  }
}
