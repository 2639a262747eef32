/**
 * Writes to one item go one at a time through the proxy, so the item it reads
 * before and after forwarding a write is exactly what that write found and
 * left (DynamoDB serializes writes to an item too). Locks are taken in sorted
 * order, so two batches sharing items cannot wait on each other.
 */
export class ItemLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(itemIds: readonly string[], work: () => Promise<T>): Promise<T> {
    const releases: Array<() => void> = [];
    try {
      for (const id of [...new Set(itemIds)].sort()) releases.push(await this.acquire(id));
      return await work();
    } finally {
      for (const release of releases) release();
    }
  }

  private async acquire(id: string): Promise<() => void> {
    const previous = this.tails.get(id) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => held);
    this.tails.set(id, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(id) === tail) this.tails.delete(id);
    };
  }
}
