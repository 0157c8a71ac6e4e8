import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';

/** The logical id of a construct's default CloudFormation resource. */
export function logicalId(stack: Stack, scope: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(scope.node.defaultChild as never);
}

/** The statements of the default policy of a function's role. */
export function policyStatements(template: Template, stack: Stack, fn: { role?: { node: { defaultChild?: unknown } } }): any[] {
  const roleId = logicalId(stack, fn.role!);
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) },
  });
  return Object.values(policies).flatMap((policy: any) => policy.Properties.PolicyDocument.Statement);
}

/** The environment variables of a function, as the template has them. */
export function functionEnvironment(template: Template, stack: Stack, fn: { node: { defaultChild?: unknown } }): Record<string, unknown> {
  return template.toJSON().Resources[logicalId(stack, fn)].Properties.Environment.Variables;
}

/** An IAM `Action` or `Resource`, which is a value or a list, as a list. */
export const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
