/**
 * Least privilege, checked against behaviour: every DynamoDB call each
 * handler makes, over the paths that exercise all of its calls (first and
 * repeated schedules, a lost race, rolling a release forward, pages, releases
 * with and without a collecting batch), is recorded on the handlers' own
 * client and compared with what the route table grants it. A new call
 * without its grant fails here, and so does a grant no path uses.
 */
import { documentClient } from '../../shared/data/store-from-env';
import { ROUTES, type DynamoAction, type Route } from '../../shared/routes';
import {
  createTestTable,
  pageOverHttp,
  releaseDirect,
  releaseOverHttp,
  scheduleOverHttp,
  seedSession,
  uniqueId,
} from '../support/handlers';

/** The IAM action of each command the data layer sends (low-level command names). */
const ACTIONS: Record<string, DynamoAction> = {
  GetItemCommand: 'GetItem',
  QueryCommand: 'Query',
  PutItemCommand: 'PutItem',
  UpdateItemCommand: 'UpdateItem',
};

let recording: { table: Set<string>; index: Set<string> } | undefined;
documentClient.middlewareStack.add(
  (next, context) => async (args) => {
    if (recording) {
      const command = context.commandName ?? 'unknown';
      const action = ACTIONS[command] ?? command;
      ((args.input as { IndexName?: string }).IndexName ? recording.index : recording.table).add(action);
    }
    return next(args);
  },
  { step: 'initialize', name: 'grantsRecorder' },
);

/** The actions a handler called while `paths` ran. */
async function calledBy(paths: () => Promise<unknown>) {
  recording = { table: new Set(), index: new Set() };
  try {
    await paths();
    return { table: [...recording.table].sort(), index: [...recording.index].sort() };
  } finally {
    recording = undefined;
  }
}

const granted = (route: Route) => ({ table: [...route.tableAccess.table].sort(), index: [...route.tableAccess.index].sort() });
const routeNamed = (name: Route['name']) => ROUTES.find((r) => r.name === name)!;

beforeAll(createTestTable);

test('ScheduleSession calls exactly what it is granted', async () => {
  const eligible = await seedSession({}, 1);
  const racing = await seedSession({}, 1);
  const afterRelease = await seedSession({}, 1);
  const noEvents = await seedSession({}, 0);
  await scheduleOverHttp(await seedSession({}, 1));

  const called = await calledBy(async () => {
    await scheduleOverHttp(eligible);
    await scheduleOverHttp(eligible);
    await scheduleOverHttp(noEvents);
    await scheduleOverHttp('no-such-session');
    // Two at once: one loses the conditional assignment and reads the winner's.
    await Promise.all([scheduleOverHttp(racing), scheduleOverHttp(racing)]);
    recording = undefined;
    await releaseOverHttp(uniqueId('release'));
    recording = { table: new Set(), index: new Set() };
    // Finds the batch released: rolls the release record forward, opens the next batch.
    await scheduleOverHttp(afterRelease);
  });

  expect(called).toEqual(granted(routeNamed('ScheduleSession')));
});

test('GetBatchPage calls exactly what it is granted', async () => {
  const scheduled = await scheduleOverHttp(await seedSession({}, 2));

  const called = await calledBy(async () => {
    await pageOverHttp({ batch_id: scheduled.body.batch_id });
    await pageOverHttp({ batch_id: '999999' });
  });

  expect(called).toEqual(granted(routeNamed('GetBatchPage')));
});

test('ReleaseBatch calls exactly what it is granted, over HTTP and from the workflow', async () => {
  await scheduleOverHttp(await seedSession({}, 1));
  const releaseId = uniqueId('release');

  const called = await calledBy(async () => {
    await releaseOverHttp(releaseId);
    await releaseOverHttp(releaseId);
    await releaseOverHttp(uniqueId('nothing-collecting'));
    await releaseDirect({ release_id: releaseId });
  });

  expect(called).toEqual(granted(routeNamed('ReleaseBatch')));
});
