/**
 * `npm run import` with DYNAMODB_ENDPOINT set to a DynamoDB endpoint in AWS
 * must sign with the caller's AWS credentials and region (profile, SSO…),
 * not with the placeholders meant for the local store.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDocumentClient } from '../../shared/data/client';

const AWS_ENV = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE'];
const saved = Object.fromEntries(AWS_ENV.map((name) => [name, process.env[name]]));
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** A profile in throwaway config files, as `aws configure` would write it; nothing reaches the network. */
function useProfileOnly(): void {
  const dir = mkdtempSync(join(tmpdir(), 'import-target-'));
  writeFileSync(join(dir, 'config'), '[profile importer]\nregion = eu-west-3\n');
  writeFileSync(join(dir, 'credentials'), '[importer]\naws_access_key_id = AKIAIMPORTTEST\naws_secret_access_key = secret\n');
  for (const name of AWS_ENV) delete process.env[name];
  process.env.AWS_CONFIG_FILE = join(dir, 'config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
  process.env.AWS_PROFILE = 'importer';
}

test('an endpoint in AWS signs with the profile credentials and region, not the local placeholders', async () => {
  useProfileOnly();
  const db = createDocumentClient({ endpoint: 'https://dynamodb.eu-west-3.amazonaws.com' });
  expect(await db.config.region()).toBe('eu-west-3');
  expect((await db.config.credentials()).accessKeyId).toBe('AKIAIMPORTTEST');
  db.destroy();
});

test('the local store still gets placeholder credentials and region without any AWS setup', async () => {
  useProfileOnly();
  delete process.env.AWS_PROFILE;
  const db = createDocumentClient({ endpoint: 'http://127.0.0.1:8000' });
  expect(await db.config.region()).toBe('local');
  expect((await db.config.credentials()).accessKeyId).toBe('local');
  db.destroy();
});
