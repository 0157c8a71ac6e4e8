import { CfnResource } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';

/**
 * One cdk-nag rule suppression, as the construct records it.
 *
 * cdk-nag is a devDependency of this library, so the constructs cannot import it at run time.
 * Instead they write the CloudFormation metadata cdk-nag reads (`Metadata.cdk_nag.rules_to_suppress`),
 * which is exactly what `NagSuppressions.addResourceSuppressions` writes. Consumers running
 * cdk-nag then see the suppressions and their reasons; consumers who do not run it get only an
 * inert metadata entry.
 */
export interface NagSuppression {
  /** The rule id, for example `AwsSolutions-IAM5`. */
  readonly id: string;
  /** Why the finding is acceptable. At least 10 characters (cdk-nag rejects shorter ones). */
  readonly reason: string;
  /** Only these findings of the rule (exact finding ids); all findings of the rule when omitted. */
  readonly appliesTo?: string[];
}

/** The metadata key and shape cdk-nag reads (see cdk-nag's NagSuppressionHelper). */
const METADATA_KEY = 'cdk_nag';

interface CfnNagSuppression {
  readonly id: string;
  readonly reason: string;
  readonly applies_to?: string[];
}

/**
 * Records `suppressions` on `scope` and, when `applyToChildren`, on every CfnResource below it.
 * Existing suppressions (for example ones the consumer added with cdk-nag) are kept; duplicates are dropped.
 */
export function addNagSuppressions(scope: IConstruct, suppressions: NagSuppression[], applyToChildren = true): void {
  const rules = suppressions.map(toCfnFormat);
  const resources = applyToChildren ? scope.node.findAll() : [scope];
  for (const resource of resources) {
    if (!CfnResource.isCfnResource(resource)) continue;
    const existing: CfnNagSuppression[] = resource.getMetadata(METADATA_KEY)?.rules_to_suppress ?? [];
    const serialized = Array.from(new Set([...existing, ...rules].map((rule) => JSON.stringify(rule))));
    resource.addMetadata(METADATA_KEY, { rules_to_suppress: serialized.map((rule) => JSON.parse(rule)) });
  }
}

function toCfnFormat(suppression: NagSuppression): CfnNagSuppression {
  // cdk-nag base64-encodes non-Latin-1 reasons; keeping reasons plain ASCII keeps them readable in the template.
  if (suppression.reason.length < 10 || !/^[\x20-\x7e]+$/.test(suppression.reason)) {
    throw new Error(`cdk-nag suppression ${suppression.id} needs a plain-ASCII reason of 10 characters or more`);
  }
  return suppression.appliesTo
    ? { id: suppression.id, reason: suppression.reason, applies_to: suppression.appliesTo }
    : { id: suppression.id, reason: suppression.reason };
}

/**
 * Flattens a resolved CloudFormation value into the string cdk-nag uses as a finding id
 * (`{ "Fn::GetAtt": ["Bucket", "Arn"] }` becomes `<Bucket.Arn>`), so suppressions can name
 * exact findings instead of a pattern. Mirrors cdk-nag's `flattenCfnReference`.
 */
export function flattenCfnReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const node = value as Record<string, unknown>;
  if (node['Fn::Join']) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(flattenCfnReference).join(delimiter);
  }
  if (node['Fn::Sub']) return flattenCfnReference(node['Fn::Sub']);
  if (node['Fn::GetAtt']) {
    const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenCfnReference(resource)}.${flattenCfnReference(attribute)}>`;
  }
  if (node['Fn::ImportValue']) return flattenCfnReference(node['Fn::ImportValue']);
  if (node.Ref) return `<${flattenCfnReference(node.Ref)}>`;
  return JSON.stringify(value);
}

/** The managed policy aws-cdk-lib attaches to every Lambda role, as cdk-nag names the finding. */
export const BASIC_EXECUTION_ROLE_FINDING = 'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

/** The findings every function of the constructs has for the same reasons: the pinned runtime and the logging policy. */
export function lambdaFunctionSuppressions(fn: lambda.Function): void {
  addNagSuppressions(fn.node.defaultChild!, [{
    id: 'AwsSolutions-L1',
    reason: 'Node.js 22 is pinned: it is the newest Lambda runtime offered in every partition, China and GovCloud included, ' +
      'and pinning keeps the template stable when aws-cdk-lib learns a newer runtime.',
  }]);
  addNagSuppressions(fn.role!, [{
    id: 'AwsSolutions-IAM4',
    reason: 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs; it is the standard Lambda logging policy.',
    appliesTo: [BASIC_EXECUTION_ROLE_FINDING],
  }]);
}
