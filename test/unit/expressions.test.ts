/** The update and condition expressions the data layer sends, built from names and values. */
import { expression } from '../../shared/data/expressions';

test('SET, ADD and REMOVE clauses with every name escaped and each name registered once', () => {
  const built = expression()
    .set({ status: 'done', size: 3, gone: undefined })
    .setIfMissing({ created: 7 })
    .add('count', 1)
    .remove('old')
    .ifNotExists('status')
    .ifEquals('size', 2)
    .build();

  expect(built).toEqual({
    UpdateExpression: 'SET #n0 = :v0, #n1 = :v1, #n3 = if_not_exists(#n3, :v2) ADD #n4 :v3 REMOVE #n2, #n5',
    ConditionExpression: 'attribute_not_exists(#n0) AND #n1 = :v4',
    ExpressionAttributeNames: { '#n0': 'status', '#n1': 'size', '#n2': 'gone', '#n3': 'created', '#n4': 'count', '#n5': 'old' },
    ExpressionAttributeValues: { ':v0': 'done', ':v1': 3, ':v2': 7, ':v3': 1, ':v4': 2 },
  });
});

test('a condition alone (a conditional put) has no update expression, and no values when it needs none', () => {
  expect(expression().ifNotExists('PK').build()).toEqual({
    ConditionExpression: 'attribute_not_exists(#n0)',
    ExpressionAttributeNames: { '#n0': 'PK' },
  });
});

test('reserved words are fine as attribute names: they only ever appear as placeholders', () => {
  const built = expression().set({ name: 'x', size: 1, status: 'y' }).build();
  expect(built.UpdateExpression).not.toMatch(/\b(name|size|status)\b/);
});
