/**
 * Turning a template's state machine into runnable ASL: the intrinsics CDK
 * writes into DefinitionString become fixed placeholder values, and anything
 * the runner cannot resolve fails loudly instead of running a wrong definition.
 */
import { placeholderArn, stateMachineFromTemplate, type CfnTemplate } from '../../infra/local/stepfunctions/state-machine';

const machine = (definitionString: unknown, extra: CfnTemplate['Resources'] = {}): CfnTemplate => ({
  Resources: {
    Fn: { Type: 'AWS::Lambda::Function' },
    Bus: { Type: 'AWS::Events::EventBus' },
    Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: definitionString } },
    ...extra,
  },
});

test('joins Fn::Join parts and replaces pseudo parameters, Ref and Fn::GetAtt with placeholders', () => {
  const template = machine({
    'Fn::Join': [
      '',
      [
        '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:',
        { Ref: 'AWS::Partition' },
        ':states:::lambda:invoke","Parameters":{"FunctionName":"',
        { 'Fn::GetAtt': ['Fn', 'Arn'] },
        '","Bus":"',
        { Ref: 'Bus' },
        '","Region":"',
        { Ref: 'AWS::Region' },
        '"},"End":true}}}',
      ],
    ],
  });

  const { logicalId, definition } = stateMachineFromTemplate(template);

  expect(logicalId).toBe('Machine');
  expect(definition.States.A).toEqual({
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: { FunctionName: placeholderArn('Fn', 'AWS::Lambda::Function'), Bus: 'Bus', Region: 'us-east-1' },
    End: true,
  });
  expect(definition.States.A.Parameters.FunctionName).toMatch(/^arn:aws:lambda:us-east-1:\d{12}:function:Fn$/);
});

test('accepts a definition that is already a plain string', () => {
  const asl = { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } };
  expect(stateMachineFromTemplate(machine(JSON.stringify(asl))).definition).toEqual(asl);
});

test('refuses intrinsics it cannot resolve, and references to resources not in the template', () => {
  expect(() => stateMachineFromTemplate(machine({ 'Fn::Sub': '${Fn.Arn}' }))).toThrow(/Cannot resolve/);
  expect(() => stateMachineFromTemplate(machine({ 'Fn::Join': ['', [{ Ref: 'Missing' }]] }))).toThrow(/Missing/);
  expect(() => stateMachineFromTemplate(machine({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Fn', 'Role'] }]] }))).toThrow(
    /no local placeholder/,
  );
});

test('needs exactly one state machine in the template', () => {
  expect(() => stateMachineFromTemplate({ Resources: {} })).toThrow(/found 0/);
  const two = machine('{}', { Other: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: '{}' } } });
  expect(() => stateMachineFromTemplate(two)).toThrow(/found 2/);
});
