/**
 * Takes IAM policy documents out of a synthesized CloudFormation template and resolves them into
 * the concrete JSON a real IAM (here moto's) evaluates: the policies are used as synthesized, never
 * retyped. Supports the intrinsics CDK emits in policies (Ref, Fn::GetAtt, Fn::Join) and fails on
 * anything else, so an unexpected template shape breaks the test instead of weakening it.
 */
export interface ResolutionContext {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  /** Physical values of the template's resources: `Ref` and attributes (`Arn`, ...) by logical id. */
  readonly resources?: Record<string, Record<string, string>>;
}

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
}

/** A synthesized template, as `Template.toJSON()` returns it. */
type Template = { [key: string]: any };

const resourcesOf = (template: Template) => Object.entries(template.Resources as Record<string, TemplateResource>);

/** `Ref: AWS::NoValue` removes the element or property that holds it. */
const NO_VALUE = Symbol('AWS::NoValue');

export function resolve(value: unknown, context: ResolutionContext): unknown {
  if (Array.isArray(value)) return value.map((item) => resolve(item, context)).filter((item) => item !== NO_VALUE);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [[name, argument]] = entries;
    if (name === 'Ref') return argument === 'AWS::NoValue' ? NO_VALUE : ref(argument as string, context);
    if (name === 'Fn::GetAtt') return attribute(argument as [string, string], context);
    if (name === 'Fn::Join') {
      const [separator, parts] = argument as [string, unknown[]];
      return parts.map((part) => String(resolve(part, context))).join(separator);
    }
    if (name.startsWith('Fn::')) throw new Error(`template-policies: intrinsic ${name} is not supported`);
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, resolve(item, context)]).filter(([, item]) => item !== NO_VALUE));
}

function ref(name: string, context: ResolutionContext): string {
  const pseudo: Record<string, string> = {
    'AWS::Partition': context.partition,
    'AWS::Region': context.region,
    'AWS::AccountId': context.accountId,
    'AWS::URLSuffix': context.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
  };
  const value = pseudo[name] ?? context.resources?.[name]?.Ref;
  if (value === undefined) throw new Error(`template-policies: no value for Ref ${name}`);
  return value;
}

function attribute([logicalId, name]: [string, string], context: ResolutionContext): string {
  const value = context.resources?.[logicalId]?.[name];
  if (value === undefined) throw new Error(`template-policies: no value for Fn::GetAtt ${logicalId}.${name}`);
  return value;
}

/** The logical id of the only resource of `type` whose id starts with `prefix`. */
export function logicalIdOf(template: Template, type: string, prefix = ''): string {
  const ids = resourcesOf(template)
    .filter(([id, resource]) => resource.Type === type && id.startsWith(prefix))
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`template-policies: expected one ${type} "${prefix}*", found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

/**
 * The inline policies (AWS::IAM::Policy) attached to a user or role of the template, resolved.
 * Keyed by the policy's logical id.
 */
export function attachedPolicies(
  template: Template,
  principal: { users?: string; roles?: string },
  context: ResolutionContext,
): Record<string, object> {
  const [kind, logicalId] = principal.users ? ['Users', principal.users] : ['Roles', principal.roles!];
  const policies: Record<string, object> = {};
  for (const [id, resource] of resourcesOf(template)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const attached = (resource.Properties?.[kind] ?? []) as unknown[];
    if (attached.some((entry) => JSON.stringify(entry) === JSON.stringify({ Ref: logicalId }))) {
      policies[id] = resolve(resource.Properties!.PolicyDocument, context) as object;
    }
  }
  if (Object.keys(policies).length === 0) throw new Error(`template-policies: no policy is attached to ${logicalId}`);
  return policies;
}

/**
 * Where moto's IAM differs from AWS's, adapted explicitly: moto authorizes DynamoDB, Secrets
 * Manager, SQS and KMS requests against the resource "*" (only its S3 checks the request's real
 * resource ARN), so a statement scoped to a table or secret ARN never matches there. For those
 * statements the synthesized actions are kept and the resources widened to "*": the actions are
 * still proven sufficient; their resource scoping is asserted on the template instead.
 */
export function adaptForMoto(documents: Record<string, object>): Record<string, object> {
  const services = ['dynamodb:', 'secretsmanager:', 'sqs:', 'kms:'];
  const adapt = (statement: { Action: string | string[]; Resource?: unknown }) => {
    const actions = ([] as string[]).concat(statement.Action);
    if (!actions.every((action) => services.some((service) => action.startsWith(service)))) return statement;
    return { ...statement, Resource: '*' };
  };
  return Object.fromEntries(Object.entries(documents).map(([name, document]) => {
    const { Statement: statements, ...rest } = document as { Statement: Array<{ Action: string | string[] }> };
    return [name, { ...rest, Statement: statements.map(adapt) }];
  }));
}
