/**
 * What an EventBridge Pipe does with a DynamoDB stream record, for the subset
 * of its syntax the stack uses: a filter pattern whose leaves are arrays of
 * exact values, and an input template of `<$.dotted.path>` placeholders.
 * Hand-written because no maintained JavaScript implementation of the
 * EventBridge pattern language exists; anything outside that subset throws
 * rather than being evaluated wrongly.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** A stream record as the pipe sees it, from an item as stored (attribute values in DynamoDB JSON). */
export function streamRecord(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  image: Record<string, AttributeValue>,
  keyNames: readonly string[],
) {
  const keys = Object.fromEntries(keyNames.map((name) => [name, image[name]]));
  return { eventName, eventSource: 'aws:dynamodb', dynamodb: { Keys: keys, NewImage: image, StreamViewType: 'NEW_IMAGE' } };
}

export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (Array.isArray(pattern)) {
    for (const value of pattern) {
      if (value !== null && typeof value === 'object') throw new Error(`Unsupported pattern operator ${JSON.stringify(value)}`);
    }
    return pattern.includes(event as never);
  }
  if (!pattern || typeof pattern !== 'object') throw new Error(`A pattern leaf must be an array, not ${JSON.stringify(pattern)}`);
  if (!event || typeof event !== 'object') return false;
  return Object.entries(pattern).every(([key, sub]) => matchesPattern(sub, (event as Record<string, unknown>)[key]));
}

export function renderInputTemplate(template: string, event: unknown): string {
  return template.replace(/<\$\.([A-Za-z0-9_.]+)>/g, (_, path: string) => {
    const value = path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], event);
    if (typeof value !== 'string') throw new Error(`No string at $.${path}`);
    return value;
  });
}
