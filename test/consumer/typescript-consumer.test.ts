/**
 * The TypeScript consumer test: the npm tarball, used as a TypeScript CDK user would use it.
 *
 * `npx projen test:typescript` packs the compiled library (`npm pack`, what jsii-pacmak's js target
 * and `npm publish` ship) into dist-consumer/js/ and runs this file with its own jest config
 * (test/consumer/jest.config.json: no emulators, no coverage; the main jest suite ignores
 * test/consumer/). The test checks the tarball's contents, installs it into a fresh directory
 * outside the repository together with aws-cdk-lib and constructs at the floor the library
 * promises (the exact devDependency versions projen pins from cdkVersion and constructsVersion)
 * and the repository's TypeScript and ts-node, type-checks examples/typescript/app.ts with a strict
 * tsconfig (library .d.ts files included), runs the app with the command its cdk.json names and
 * asserts on the two templates in the cloud assembly.
 *
 * A missing tarball is a failure, never a skip: this test exists to prove the npm package works.
 */
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const DIST_DIR = path.join(ROOT, 'dist-consumer', 'js');
const EXAMPLE_DIR = path.join(ROOT, 'examples', 'typescript');
const PACKAGE_NAME = 'cdk-partition-replicated-bucket';

// The example's stack ids, which are also the template file names in cdk.out.
const SOURCE_STACK = 'Reports';
const DESTINATION_STACK = 'Replicas';
// The runtime the constructs pin by default (src/*-function.ts).
const PINNED_RUNTIME = 'nodejs22.x';
// A budget, not a measurement (1.4 MB today: three bundled handlers and lib/): a much larger
// tarball means something that is not the library got packed.
const MAX_TARBALL_BYTES = 5 * 1024 * 1024;

const INSTALL_TIMEOUT_MS = 10 * 60_000;
const RUN_TIMEOUT_MS = 5 * 60_000;

// A strict tsconfig as a user would write it (the CDK's `cdk init` settings plus the unused-code
// checks), with skipLibCheck off so our .d.ts files are type-checked under it too.
const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['es2022'],
    types: ['node'],
    strict: true,
    noImplicitAny: true,
    strictNullChecks: true,
    noImplicitThis: true,
    alwaysStrict: true,
    noImplicitReturns: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    noFallthroughCasesInSwitch: true,
    forceConsistentCasingInFileNames: true,
    skipLibCheck: false,
  },
  include: ['app.ts'],
};

type Template = { Resources: Record<string, { Type: string; Properties?: any }> };

interface Consumer {
  readonly dir: string;
  readonly tarball: string;
  readonly versions: Record<string, string>;
}

let consumer: Consumer | undefined;
let templates: Record<string, Template> | undefined;

function describeRun(r: SpawnSyncReturns<string>): string {
  return `exit ${r.status}${r.signal ? ` (signal ${r.signal})` : ''}${r.error ? ` (${r.error.message})` : ''}\n` +
    `--- stdout ---\n${(r.stdout ?? '').slice(-6000)}\n--- stderr ---\n${(r.stderr ?? '').slice(-6000)}`;
}

/**
 * The environment of a consumer process: ours minus what npm and projen set for the repository
 * (npm_config_local_prefix alone would make `npm install` write into the repo), keeping the
 * user's npm configuration (cache, registry, certificates, proxies).
 */
function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keepNpm = /^npm_config_(cache|registry|cafile|userconfig|globalconfig|proxy|https_proxy|noproxy|strict_ssl)$/i;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !keepNpm.test(k)) continue;
    if (/^(INIT_CWD|NODE_PATH|NODE_OPTIONS|TS_NODE_.*|CDK_.*|JEST_WORKER_ID)$/.test(k)) continue;
    env[k] = v;
  }
  env.JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION = '1';
  env.JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION = '1';
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, timeout: number, env = consumerEnv()): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
}

function mustRun(what: string, cmd: string, args: string[], cwd: string, timeout: number, env?: NodeJS.ProcessEnv): string {
  const r = run(cmd, args, cwd, timeout, env);
  if (r.status !== 0) throw new Error(`${what} failed: ${cmd} ${args.join(' ')}\n${describeRun(r)}`);
  return r.stdout;
}

function readJson(file: string): any {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function locateTarball(): string {
  const hint = 'Build it first: `npx projen test:typescript` (after `npx projen compile`).';
  if (!fs.existsSync(DIST_DIR)) throw new Error(`${DIST_DIR} does not exist: the npm tarball was not packed. ${hint}`);
  const tarballs = fs.readdirSync(DIST_DIR).filter((f) => f.startsWith(`${PACKAGE_NAME}-`) && f.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`expected exactly one ${PACKAGE_NAME}-*.tgz in ${DIST_DIR}, found ${JSON.stringify(tarballs)}. ${hint}`);
  return path.join(DIST_DIR, tarballs[0]);
}

/** aws-cdk-lib and constructs at the floor (exact devDependency pins), the rest as the repo installed them. */
function consumerVersions(): Record<string, string> {
  const pkg = readJson(path.join(ROOT, 'package.json'));
  const versions: Record<string, string> = {};
  for (const name of ['aws-cdk-lib', 'constructs']) {
    const pinned: string = pkg.devDependencies[name];
    if (!/^\d+\.\d+\.\d+$/.test(pinned)) throw new Error(`package.json pins ${name} to '${pinned}', not an exact floor version`);
    // The floor is what the peer range promises: `^<floor>`.
    if (pkg.peerDependencies[name] !== `^${pinned}`) {
      throw new Error(`peerDependencies ${name} is '${pkg.peerDependencies[name]}', expected '^${pinned}'`);
    }
    versions[name] = pinned;
  }
  for (const name of ['typescript', 'ts-node', '@types/node']) {
    versions[name] = readJson(path.join(ROOT, 'node_modules', name, 'package.json')).version;
  }
  return versions;
}

function setUpConsumer(): Consumer {
  const tarball = locateTarball();
  const versions = consumerVersions();
  // Outside the repository, so nothing resolves from the repo's node_modules by walking up.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-consumer-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer-app', version: '0.0.0', private: true }, null, 2));
  mustRun('npm install', 'npm', [
    'install', '--no-audit', '--no-fund', '--save-exact', '--prefer-offline', '--loglevel=error',
    tarball, ...Object.entries(versions).map(([name, version]) => `${name}@${version}`),
  ], dir, INSTALL_TIMEOUT_MS);

  // The example, copied as is, with the tsconfig a strict user would have.
  for (const file of fs.readdirSync(EXAMPLE_DIR)) fs.copyFileSync(path.join(EXAMPLE_DIR, file), path.join(dir, file));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG, null, 2));
  return { dir, tarball, versions };
}

function synthesize(c: Consumer): Record<string, Template> {
  const app: string = readJson(path.join(c.dir, 'cdk.json')).app;
  const outdir = path.join(c.dir, 'cdk.out');
  // What `cdk synth` does: run cdk.json's app command with CDK_OUTDIR set.
  const r = run('sh', ['-c', app], c.dir, RUN_TIMEOUT_MS, consumerEnv({ CDK_OUTDIR: outdir }));
  if (r.status !== 0) throw new Error(`the example app (${app}) failed to synthesize:\n${describeRun(r)}`);
  const result: Record<string, Template> = {};
  for (const stack of [SOURCE_STACK, DESTINATION_STACK]) {
    const file = path.join(outdir, `${stack}.template.json`);
    if (!fs.existsSync(file)) throw new Error(`${stack}.template.json not synthesized; cdk.out holds ${JSON.stringify(fs.readdirSync(outdir))}`);
    result[stack] = readJson(file);
  }
  return result;
}

function resources(template: Template, type: string): Record<string, any> {
  return Object.fromEntries(Object.entries(template.Resources).filter(([, r]) => r.Type === type));
}

function envVars(fn: any): Record<string, any> {
  return fn.Properties?.Environment?.Variables ?? {};
}

function asArray<T>(x: T | T[]): T[] {
  return Array.isArray(x) ? x : [x];
}

beforeAll(() => {
  consumer = setUpConsumer();
}, INSTALL_TIMEOUT_MS);

afterAll(() => {
  if (consumer) fs.rmSync(consumer.dir, { recursive: true, force: true });
});

function theConsumer(): Consumer {
  if (!consumer) throw new Error('the consumer directory was not set up (see the beforeAll failure)');
  return consumer;
}

// Synthesized once, by the first test that needs the templates; a failure is reported by each of them.
let synthError: Error | undefined;
function theTemplates(): Record<string, Template> {
  if (synthError) throw synthError;
  try {
    templates ??= synthesize(theConsumer());
  } catch (e) {
    synthError = e as Error;
    throw e;
  }
  return templates;
}

describe('the npm tarball', () => {
  test('holds the compiled library, its jsii assembly, the handler bundles, README and LICENSE, and nothing else', () => {
    const tarball = locateTarball();
    const entries = mustRun('listing the tarball', 'tar', ['-tzf', tarball], ROOT, RUN_TIMEOUT_MS).split('\n').filter((e) => e && !e.endsWith('/'));
    const files = entries.map((e) => e.replace(/^package\//, ''));
    const size = fs.statSync(tarball).size;
    console.log(`${path.basename(tarball)}: ${size} bytes, ${files.length} files`);

    for (const required of ['package.json', '.jsii', 'README.md', 'LICENSE', 'lib/index.js', 'lib/index.d.ts']) {
      expect(files).toContain(required);
    }
    // Every handler bundle the repo built (assets/handlers/<name>.lambda/index.js) is shipped.
    const assets = fs.readdirSync(path.join(ROOT, 'assets', 'handlers')).filter((d) => d.endsWith('.lambda')).map((d) => `handlers/${d}`).sort();
    expect(assets).toEqual(expect.arrayContaining(['handlers/backfill.lambda', 'handlers/replicator.lambda', 'handlers/router.lambda']));
    for (const asset of assets) expect(files).toContain(`assets/${asset}/index.js`);
    // Every compiled module has its declarations.
    const libJs = files.filter((f) => f.startsWith('lib/') && f.endsWith('.js'));
    expect(libJs.length).toBeGreaterThan(0);
    expect(libJs.filter((f) => !files.includes(f.replace(/\.js$/, '.d.ts')))).toEqual([]);

    // Sources, tests, tooling, local environments and examples (cdklabs libraries ship none) stay out.
    const forbidden = files.filter((f) =>
      /^(src|test|bench|scripts|examples|projenrc|\.venv|\.ci|\.bench|\.github|\.projen|dist|dist-consumer|cdk\.out|coverage|node_modules)\//.test(f) ||
      (/\.tsx?$/.test(f) && !f.endsWith('.d.ts')) ||
      /(^|\/)tsconfig[^/]*\.json$/.test(f) || f.endsWith('.tgz'));
    expect(forbidden).toEqual([]);
    expect(files.every((f) => /^(lib|assets)\//.test(f) || ['package.json', '.jsii', 'README.md', 'LICENSE', 'API.md'].includes(f))).toBe(true);

    expect(size).toBeLessThan(MAX_TARBALL_BYTES);
  });
});

describe('a TypeScript CDK app at the floor', () => {
  test('installs the tarball with aws-cdk-lib and constructs at the floor, one copy of each, outside the repo', () => {
    const c = theConsumer();
    const probe = mustRun('the resolution probe', 'node', ['-e', `
      const path = require('path');
      const lib = require.resolve('${PACKAGE_NAME}');
      const fromLib = (m) => require.resolve(m + '/package.json', { paths: [path.dirname(lib)] });
      console.log(JSON.stringify({
        lib,
        cdk: require('aws-cdk-lib/package.json').version,
        constructs: require('constructs/package.json').version,
        cdkPath: require.resolve('aws-cdk-lib/package.json'),
        cdkFromLib: fromLib('aws-cdk-lib'),
        constructsPath: require.resolve('constructs/package.json'),
        constructsFromLib: fromLib('constructs'),
        exports: Object.keys(require('${PACKAGE_NAME}')),
      }));`], c.dir, RUN_TIMEOUT_MS);
    const info = JSON.parse(probe.trim().split('\n').pop()!);
    expect(info.cdk).toBe(c.versions['aws-cdk-lib']);
    expect(info.constructs).toBe(c.versions.constructs);
    const dir = fs.realpathSync(c.dir);
    expect(fs.realpathSync(info.lib).startsWith(path.join(dir, 'node_modules', PACKAGE_NAME) + path.sep)).toBe(true);
    // The library takes the app's aws-cdk-lib and constructs (peer dependencies), not copies of its own.
    expect(info.cdkFromLib).toBe(info.cdkPath);
    expect(info.constructsFromLib).toBe(info.constructsPath);
    expect(info.exports).toEqual(expect.arrayContaining(['PartitionReplicatedBucket', 'DestinationReplicationUser']));
  });

  test('examples/typescript/app.ts type-checks with strict settings, the library declarations included', () => {
    const c = theConsumer();
    // The consumer's own compiler, not the repo's.
    const tsc = path.join(c.dir, 'node_modules', 'typescript', 'bin', 'tsc');
    const version = mustRun('tsc --version', 'node', [tsc, '--version'], c.dir, RUN_TIMEOUT_MS);
    expect(version.trim()).toBe(`Version ${c.versions.typescript}`);
    const r = run('node', [tsc, '--noEmit', '-p', 'tsconfig.json'], c.dir, RUN_TIMEOUT_MS);
    if (r.status !== 0) throw new Error(`tsc --noEmit failed on the example app:\n${describeRun(r)}`);
  });

  test('the source stack has the FIFO pipeline, the version map and the EventBridge rule for its bucket', () => {
    const template = theTemplates()[SOURCE_STACK];

    const buckets = resources(template, 'AWS::S3::Bucket');
    const versioned = Object.keys(buckets).filter((k) => buckets[k].Properties?.VersioningConfiguration?.Status === 'Enabled');
    expect(versioned).toHaveLength(1);
    const bucketId = versioned[0];

    const functions = resources(template, 'AWS::Lambda::Function');
    const ours = Object.keys(functions).filter((k) => 'SOURCE_BUCKET_NAME' in envVars(functions[k]));
    expect(ours.map((k) => functions[k].Properties.Runtime)).toEqual(ours.map(() => PINNED_RUNTIME));
    // The replicator writes (REPLICATE_TAGS); the router knows the queue but never the destination.
    const replicators = ours.filter((k) => 'REPLICATE_TAGS' in envVars(functions[k]));
    const routers = ours.filter((k) => 'REPLICATION_QUEUE_URL' in envVars(functions[k]) && !('DESTINATION_REGION' in envVars(functions[k])));
    expect(replicators).toHaveLength(1);
    expect(routers).toHaveLength(1);
    const replicator = envVars(functions[replicators[0]]);
    const router = envVars(functions[routers[0]]);
    expect(replicator).toMatchObject({
      DESTINATION_BUCKET_NAME: 'reports-replica',
      DESTINATION_REGION: 'us-gov-west-1',
      DESTINATION_PARTITION: 'aws-us-gov',
    });
    expect(JSON.parse(replicator.REPLICATION_SCOPE)).toEqual({ prefixes: ['reports/'] });
    expect(replicator.SOURCE_BUCKET_NAME).toEqual({ Ref: bucketId });

    // The router feeds the FIFO replication queue, which the replicator consumes.
    const queues = resources(template, 'AWS::SQS::Queue');
    const queueId = Object.keys(queues).find((k) => k === router.REPLICATION_QUEUE_URL?.Ref);
    expect(queueId).toBeDefined();
    expect(queues[queueId!].Properties.FifoQueue).toBe(true);
    expect(replicator.REPLICATION_QUEUE_URL).toEqual({ Ref: queueId });
    const mappings = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping'))
      .filter((m: any) => m.Properties.FunctionName?.Ref === replicators[0]);
    expect(mappings.map((m: any) => m.Properties.EventSourceArn)).toEqual([{ 'Fn::GetAtt': [queueId, 'Arn'] }]);

    // The version map: the table the replicator records into.
    const tables = resources(template, 'AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toContain(replicator.REPLICATION_TABLE_NAME?.Ref);

    // EventBridge: the bucket sends its events, and a rule for this bucket and prefix targets the router.
    const notifications = Object.values(resources(template, 'Custom::S3BucketNotifications'))
      .filter((n: any) => n.Properties.BucketName?.Ref === bucketId && 'EventBridgeConfiguration' in (n.Properties.NotificationConfiguration ?? {}));
    const inline = buckets[bucketId].Properties?.NotificationConfiguration?.EventBridgeConfiguration?.EventBridgeEnabled === true;
    expect(inline || notifications.length === 1).toBe(true);
    const rules = Object.values(resources(template, 'AWS::Events::Rule')).filter((r: any) => {
      const pattern = r.Properties.EventPattern ?? {};
      return JSON.stringify(pattern.source) === '["aws.s3"]' &&
        JSON.stringify(pattern.detail?.bucket?.name) === JSON.stringify([{ Ref: bucketId }]) &&
        JSON.stringify(pattern.detail?.object?.key) === JSON.stringify([{ prefix: 'reports/' }]);
    });
    expect(rules).toHaveLength(1);
    expect((rules[0] as any).Properties.Targets.map((t: any) => t.Arn)).toEqual([{ 'Fn::GetAtt': [routers[0], 'Arn'] }]);
  });

  test('the destination stack has the writer user, allowed to put objects under reports/ and never to read them', () => {
    const template = theTemplates()[DESTINATION_STACK];
    const buckets = resources(template, 'AWS::S3::Bucket');
    const bucketId = Object.keys(buckets).find((k) => buckets[k].Properties?.BucketName === 'reports-replica');
    expect(bucketId).toBeDefined();
    const users = Object.keys(resources(template, 'AWS::IAM::User'));
    expect(users).toHaveLength(1);
    expect(Object.values(resources(template, 'AWS::IAM::AccessKey')).map((k: any) => k.Properties.UserName)).toEqual([{ Ref: users[0] }]);

    const policies = Object.values(resources(template, 'AWS::IAM::Policy'));
    const statements = policies.flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const userStatements = policies
      .filter((p: any) => JSON.stringify(p.Properties.Users ?? []) === JSON.stringify([{ Ref: users[0] }]))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const objects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/reports/*']] };
    const puts = userStatements.filter((s: any) => s.Effect === 'Allow' && asArray(s.Action).includes('s3:PutObject'));
    expect(puts.length).toBeGreaterThan(0);
    expect(puts.every((s: any) => JSON.stringify(asArray(s.Resource)) === JSON.stringify([objects]))).toBe(true);

    // No statement in the destination stack allows reading objects (nor any s3 wildcard).
    const allowed = statements.filter((s: any) => s.Effect === 'Allow').flatMap((s: any) => asArray(s.Action));
    expect(allowed.filter((a: string) => /^s3:(GetObject|\*|Get\*)/.test(a) || a === '*')).toEqual([]);
  });
});
