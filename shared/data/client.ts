import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface ClientOptions {
  /** A DynamoDB-compatible endpoint (the local store); unset means real DynamoDB. */
  endpoint?: string;
  region?: string;
  maxAttempts?: number;
}

/**
 * The low-level client. Against a local endpoint it needs no AWS account: the
 * region and credentials are placeholders dynalite ignores.
 */
export function createDynamoClient(options: ClientOptions = {}): DynamoDBClient {
  const endpoint = options.endpoint;
  // An explicit endpoint in AWS (e.g. the import into a deployed table) signs like any AWS call.
  const local = endpoint !== undefined && !isAwsEndpoint(endpoint);
  return new DynamoDBClient({
    endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'local' : undefined),
    maxAttempts: options.maxAttempts ?? 3,
    // A page queries up to 100 sessions' events at once; the default 50 sockets would queue half of them.
    requestHandler: { httpAgent: { keepAlive: true, maxSockets: 128 }, httpsAgent: { keepAlive: true, maxSockets: 128 } },
    ...(local && !process.env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
}

/** One DocumentClient per container, on the client above. */
export const createDocumentClient = (options: ClientOptions = {}): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(createDynamoClient(options), { marshallOptions: { removeUndefinedValues: true } });

const isAwsEndpoint = (endpoint: string): boolean =>
  /\.(amazonaws\.com|amazonaws\.com\.cn|api\.aws)$/.test(new URL(endpoint).hostname);

/** The client the handlers use, built once from the environment (DYNAMODB_ENDPOINT for the local store). */
export const createClientFromEnv = (): DynamoDBDocumentClient =>
  createDocumentClient({ endpoint: process.env.DYNAMODB_ENDPOINT || undefined });
