/**
 * What DynamoDB bills for a read or a write, in capacity units, and on which
 * partition key value (of the table, or of an index) it lands.
 */
import stableStringify from 'safe-stable-stringify';
import { itemSize } from './item-size';
import { keyAttributes, keyOf, scalarText, type IndexSchema, type TableSchema } from './table-schema';
import type { Item } from './wire';

/** A partition key value of a table, or of one of its indexes. */
export interface Partition {
  table: string;
  index?: string;
  partitionKey: string;
}

export type CapacityKind = 'read' | 'write';

export interface Charge extends Partition {
  kind: CapacityKind;
  units: number;
}

// DynamoDB developer guide, "DynamoDB read and write operations": a write unit is 1 KB, a read unit 4 KB.
const WRITE_UNIT_BYTES = 1024;
const READ_UNIT_BYTES = 4096;
// DynamoDB developer guide, "Using Global Secondary Indexes in DynamoDB": 100 bytes of overhead per index entry.
const INDEX_ENTRY_OVERHEAD = 100;

/** DynamoDB developer guide, "DynamoDB read and write operations": ⌈bytes / 1 KB⌉, at least 1. */
export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));

/**
 * DynamoDB developer guide, "DynamoDB read and write operations": ⌈bytes / 4 KB⌉, at least 1
 * (reading nothing still costs), halved when eventually consistent.
 */
export const readUnits = (bytes: number, consistent: boolean): number =>
  Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES)) * (consistent ? 1 : 0.5);

export const tablePartition = (schema: TableSchema, item: Item): Partition => ({
  table: schema.name,
  partitionKey: scalarText(item[schema.partitionKey]),
});

export const indexPartition = (schema: TableSchema, index: IndexSchema, entry: Item): Partition => ({
  table: schema.name,
  index: index.name,
  partitionKey: scalarText(entry[index.partitionKey]),
});

/**
 * The item's entry in the index, or undefined if the item is not in it (an index holds only the
 * items that have its key attributes). DynamoDB developer guide, "Using Global Secondary Indexes
 * in DynamoDB": an entry holds the table's key, the index's key and the projected attributes.
 */
export function indexEntry(schema: TableSchema, index: IndexSchema, item: Item | undefined): Item | undefined {
  if (!item || !keyOf(index, item)) return undefined;
  if (index.projection.type === 'ALL') return item;
  const projected = [...keyAttributes(schema), ...keyAttributes(index), ...index.projection.nonKeyAttributes];
  return Object.fromEntries(projected.filter((name) => item[name]).map((name) => [name, item[name]!]));
}

const entrySize = (entry: Item): number => itemSize(entry) + INDEX_ENTRY_OVERHEAD;

/** How one write changed the item's entry in one index. */
export type IndexChange =
  | { index: IndexSchema; kind: 'added'; after: Item }
  | { index: IndexSchema; kind: 'removed'; before: Item }
  | { index: IndexSchema; kind: 'moved'; before: Item; after: Item }
  | { index: IndexSchema; kind: 'updated'; before: Item; after: Item };

/** DynamoDB developer guide, "Using Global Secondary Indexes in DynamoDB": an entry is written only when the write changes it. */
export function indexChanges(schema: TableSchema, before: Item | undefined, after: Item | undefined): IndexChange[] {
  return schema.indexes.flatMap((index): IndexChange[] => {
    const old = indexEntry(schema, index, before);
    const next = indexEntry(schema, index, after);
    if (old && next) {
      if (stableStringify(keyOf(index, old)) !== stableStringify(keyOf(index, next))) {
        return [{ index, kind: 'moved', before: old, after: next }];
      }
      return stableStringify(old) === stableStringify(next) ? [] : [{ index, kind: 'updated', before: old, after: next }];
    }
    if (next) return [{ index, kind: 'added', after: next }];
    if (old) return [{ index, kind: 'removed', before: old }];
    return [];
  });
}

/**
 * What a write of the item from `before` to `after` costs (undefined: absent). A write whose
 * condition failed changed nothing: pass the existing item as both.
 */
export function writeCharges(schema: TableSchema, key: Item, before: Item | undefined, after: Item | undefined): Charge[] {
  // DynamoDB developer guide, "DynamoDB read and write operations": the larger of the item before and after.
  const table: Charge = {
    ...tablePartition(schema, key),
    kind: 'write',
    units: writeUnits(Math.max(itemSize(before), itemSize(after))),
  };
  const onIndex = (index: IndexSchema, entry: Item, bytes: number): Charge => ({
    ...indexPartition(schema, index, entry),
    kind: 'write',
    units: writeUnits(bytes),
  });
  const indexes = indexChanges(schema, before, after).flatMap((change) => {
    switch (change.kind) {
      case 'added':
        return [onIndex(change.index, change.after, entrySize(change.after))];
      case 'removed':
        return [onIndex(change.index, change.before, entrySize(change.before))];
      // An entry whose index key changed is deleted from the index and put again: two writes.
      case 'moved':
        return [
          onIndex(change.index, change.before, entrySize(change.before)),
          onIndex(change.index, change.after, entrySize(change.after)),
        ];
      // Rewritten in place: like a table item, the larger of the entry before and after.
      case 'updated':
        return [onIndex(change.index, change.after, Math.max(entrySize(change.before), entrySize(change.after)))];
    }
  });
  return [table, ...indexes];
}
