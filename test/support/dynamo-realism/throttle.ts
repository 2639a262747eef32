/**
 * Optional per-key throttling: one token bucket per partition key value (of a
 * table or an index) and kind, filled at DynamoDB's per-partition rate times
 * `scale`, holding one second of it. A request may pass while its buckets are
 * above zero; its real cost is debited afterwards, so a bucket can go below
 * zero and then refuses until it has refilled past it.
 */
import { performance } from 'node:perf_hooks';
import type { CapacityKind, Charge, Partition } from './capacity';

// DynamoDB developer guide, "Understanding DynamoDB warm throughput in different scenarios":
// each partition is limited to 1,000 write units and 3,000 read units per second.
export const PARTITION_UNITS_PER_SECOND: Record<CapacityKind, number> = { write: 1000, read: 3000 };

interface Bucket {
  level: number;
  at: number;
}

export class ThrottleBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly scale: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The partitions among `partitions` whose `kind` bucket is empty. */
  empty(kind: CapacityKind, partitions: readonly Partition[]): Partition[] {
    return partitions.filter((partition) => this.refilled(kind, partition).level <= 0);
  }

  debit(charges: readonly Charge[]): void {
    for (const charge of charges) this.refilled(charge.kind, charge).level -= charge.units;
  }

  private refilled(kind: CapacityKind, { table, index, partitionKey }: Partition): Bucket {
    const perSecond = PARTITION_UNITS_PER_SECOND[kind] * this.scale;
    const id = `${kind}\u0000${table}\u0000${index ?? ''}\u0000${partitionKey}`;
    const now = this.now();
    let bucket = this.buckets.get(id);
    if (!bucket) this.buckets.set(id, (bucket = { level: perSecond, at: now }));
    bucket.level = Math.min(perSecond, bucket.level + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    return bucket;
  }
}
