// Runs before each test file: a table and a bucket of its own, quiet Powertools, fake AWS credentials.
import { randomUUID } from 'node:crypto';

process.env.TABLE_NAME = `test-${randomUUID()}`;
// A bucket of its own on the jest run's S3 server (global-setup.ts); test/support/export.ts creates it.
process.env.EXPORT_BUCKET = `test-${randomUUID()}`;
process.env.AWS_REGION = 'local';
process.env.AWS_ACCESS_KEY_ID = 'local';
process.env.AWS_SECRET_ACCESS_KEY = 'local';
// The lockfile pins SDK versions that support Node 20; their notice about later ones is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_METRICS_NAMESPACE = 'SessionImprovementTest';
// Four shards rather than the deployed sixteen: every multi-shard path still runs, and a
// crash can be injected at each of a release's calls in a few seconds.
process.env.SHARD_COUNT ??= '4';
