import { readFileSync, rmSync } from 'fs';
import Module from 'module';
import { join, resolve as resolvePath } from 'path';
import { ResolutionContext } from '../../test/emulated/emulators/template-policies';

export const ROOT = resolvePath(__dirname, '..', '..');
export const EXAMPLE_APP = join(ROOT, 'examples', 'typescript', 'app.ts');
export const LIBRARY = 'cdk-partition-replicated-bucket';
export const OUTDIR = join(ROOT, 'cdk.out');

export type Resource = { Type: string; Properties?: any };
export type Template = { Resources: Record<string, Resource> };
/** Physical values (`Ref` and attributes) of deployed resources, by logical id. */
export type Resources = NonNullable<ResolutionContext['resources']>;

export interface StackArtifact {
  readonly name: string;
  readonly template: Template;
  /** Construct path to logical id. */
  readonly logicalIds: Map<string, string>;
  /** Asset object key (`<hash>.zip`) to the staged asset directory. */
  readonly assetDirs: Map<string, string>;
}

/** A Lambda function of a stack: its synthesized properties and the staged directory of its code. */
export interface SynthesizedFunction {
  readonly stack: StackArtifact;
  readonly logicalId: string;
  readonly properties: any;
  readonly assetDir: string;
}

/**
 * Runs the example app as it is, its `cdk-partition-replicated-bucket` import resolved to this
 * repository's library source (tsconfig.dev.json maps the name the same way for the type checker).
 * `App` writes the assembly to CDK_OUTDIR.
 */
export function synthesizeExample(): StackArtifact[] {
  rmSync(OUTDIR, { recursive: true, force: true });
  process.env.CDK_OUTDIR = OUTDIR;
  const modules = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = modules._resolveFilename;
  modules._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
    return original.call(this, request === LIBRARY ? join(ROOT, 'src', 'index.ts') : request, ...rest);
  };
  try {
    // The app is a program (it synthesizes when loaded), not a module with exports.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(EXAMPLE_APP);
  } finally {
    modules._resolveFilename = original;
    delete process.env.CDK_OUTDIR;
  }
  return readAssembly(OUTDIR);
}

function readAssembly(outdir: string): StackArtifact[] {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
  const artifacts = Object.entries(manifest.artifacts as Record<string, any>);
  const assetDirs = readAssetDirs(outdir, artifacts.filter(([, a]) => a.type === 'cdk:asset-manifest').map(([, a]) => a));
  return artifacts.filter(([, a]) => a.type === 'aws:cloudformation:stack').map(([name, artifact]) => ({
    name,
    template: JSON.parse(readFileSync(join(outdir, artifact.properties.templateFile), 'utf8')),
    logicalIds: logicalIdsOf(artifact.metadata ?? {}),
    assetDirs,
  }));
}

/** Asset object key to staged directory, from the asset manifests. */
function readAssetDirs(outdir: string, manifests: any[]): Map<string, string> {
  const assetDirs = new Map<string, string>();
  for (const artifact of manifests) {
    const assets = JSON.parse(readFileSync(join(outdir, artifact.properties.file), 'utf8'));
    for (const file of Object.values(assets.files as Record<string, any>)) {
      for (const destination of Object.values(file.destinations as Record<string, any>)) {
        assetDirs.set(destination.objectKey, join(outdir, file.source.path));
      }
    }
  }
  return assetDirs;
}

function logicalIdsOf(metadata: Record<string, Array<{ type: string; data: string }>>): Map<string, string> {
  return new Map(Object.entries(metadata)
    .flatMap(([path, entries]) => entries.filter((e) => e.type === 'aws:cdk:logicalId').map((e) => [path, e.data] as [string, string])));
}

/** The one Lambda function whose construct path ends with `suffix`, with its staged code directory. */
export function findFunction(stacks: StackArtifact[], suffix: string): SynthesizedFunction {
  const found = stacks.flatMap((stack) => [...stack.logicalIds]
    .filter(([path, id]) => path.endsWith(suffix) && stack.template.Resources[id]?.Type === 'AWS::Lambda::Function')
    .map(([, logicalId]) => ({ stack, logicalId })));
  if (found.length !== 1) throw new Error(`expected one function at *${suffix} in the assembly, found ${found.length}`);
  const { stack, logicalId } = found[0];
  const properties = stack.template.Resources[logicalId].Properties;
  const assetDir = stack.assetDirs.get(properties.Code.S3Key);
  if (!assetDir) throw new Error(`no asset directory for ${logicalId} (${properties.Code.S3Key})`);
  return { stack, logicalId, properties, assetDir };
}

/** The first resource of `type` in the stack whose `field` property mentions the function. */
export function resourceNaming(fn: SynthesizedFunction, type: string, field: string): Resource {
  return Object.values(fn.stack.template.Resources).find((r) => r.Type === type
    && JSON.stringify(r.Properties[field]).includes(fn.logicalId))!;
}

/** The logical id of the role the function runs with. */
export function roleOf(fn: SynthesizedFunction): string {
  return (fn.properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

/** Logical ids that the function's environment variables and its role's policies name (`Ref` or `Fn::GetAtt`). */
export function referencedIds(fn: SynthesizedFunction, into = new Set<string>()): Set<string> {
  collectReferences(fn.properties.Environment.Variables, into);
  collectReferences(attachedPoliciesRaw(fn.stack.template, roleOf(fn)), into);
  return into;
}

function collectReferences(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {value.forEach((item) => collectReferences(item, into));} else if (value && typeof value === 'object') {
    for (const [name, argument] of Object.entries(value)) {
      if (name === 'Ref' && typeof argument === 'string' && !argument.startsWith('AWS::')) into.add(argument);
      else if (name === 'Fn::GetAtt') into.add((argument as string[])[0]);
      else collectReferences(argument, into);
    }
  }
}

/** The policy documents attached to a role, unresolved (to collect what they reference). */
function attachedPoliciesRaw(template: Template, roleId: string): unknown[] {
  return Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles ?? []).includes(`"${roleId}"`))
    .map((r) => r.Properties.PolicyDocument);
}

/** The stack and logical id of the bucket named `bucketName`. */
export function findBucket(stacks: StackArtifact[], bucketName: string): { stack: StackArtifact; bucketId: string } {
  for (const stack of stacks) {
    const found = Object.entries(stack.template.Resources)
      .find(([, r]) => r.Type === 'AWS::S3::Bucket' && r.Properties?.BucketName === bucketName);
    if (found) return { stack, bucketId: found[0] };
  }
  throw new Error(`no stack in the app defines the destination bucket ${bucketName}`);
}
