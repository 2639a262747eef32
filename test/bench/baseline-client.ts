/**
 * The cold-start and bundle-size baseline: a module that only creates a
 * DynamoDB DocumentClient, the least any handler of this service must load.
 * Built with the same esbuild options as the deployed handlers.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

// Exported so esbuild keeps it: an unused client would be tree-shaken away.
export const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({}));
