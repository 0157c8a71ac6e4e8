import { awscdk, javascript, ReleasableCommits, Task } from 'projen';
import { UpdateSnapshot } from 'projen/lib/javascript';
import { ReleaseTrigger } from 'projen/lib/release';
import { addConsumerTests } from './projenrc/consumer-tests';
import { addIntegTests } from './projenrc/integ-tests';

// The AWS SDK v3 clients and Powertools are bundled into the handler assets (esbuild), so they are
// devDependencies pinned to exact versions: a consumer's template (and asset hash) changes only
// when we release, never because the Lambda runtime's preinstalled SDK moved.
const SDK_VERSION = '3.1162.0';
const POWERTOOLS_VERSION = '2.35.0';

/** One jest project: the tests of one tier (test/<tier>/), compiled by ts-jest as projen configures it. */
function testTier(tier: string, options: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    displayName: tier,
    testMatch: [`<rootDir>/test/${tier}/**/*.test.ts`],
    transform: { '^.+\\.[t]sx?$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }] },
    clearMocks: true,
    // The integ snapshot holds copies of the bundled handlers: keep them out of jest's module map.
    modulePathIgnorePatterns: ['<rootDir>/test/integ/'],
    ...options,
  };
}

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-partition-replicated-bucket',
  packageName: 'cdk-partition-replicated-bucket',
  description:
    'S3 replication across AWS partitions (aws, aws-us-gov, aws-cn, isolated and sovereign): ' +
    'one CDK construct with an ordered FIFO pipeline, a version map and least-privilege destination credentials.',
  author: 'cdk-partition-replicated-bucket contributors',
  // The maintainers' list (README "Contact"): it lands in package.json, the Maven POM's developer
  // entry (Maven Central requires one), setup.py and the .nuspec.
  authorAddress: 'cdk-partition-replicated-bucket-maintainers@googlegroups.com',
  authorOrganization: false,
  repositoryUrl: 'https://github.com/cdk-partition-replicated-bucket/cdk-partition-replicated-bucket.git',
  license: 'Apache-2.0',
  stability: 'experimental',
  keywords: ['awscdk', 'cdk', 's3', 'replication', 'partition', 'govcloud', 'aws-cn', 'cross-partition'],
  defaultReleaseBranch: 'main',
  // Released like the cdklabs libraries: every push to main that carries a feat or fix commit (or
  // a breaking change) is versioned from the conventional commits since the last tag, gets its
  // CHANGELOG section and a GitHub release, and is published to npm, PyPI, Maven Central, NuGet and
  // the Go module repository by the generated release workflow. chore/docs/test/refactor-only
  // pushes release nothing. Experimental, so 0.x: a breaking change bumps the minor version.
  releaseTrigger: ReleaseTrigger.continuous(),
  releasableCommits: ReleasableCommits.featuresAndFixes(),
  majorVersion: 0,
  // Squash merges make the PR title the commit message on main: lint it as a conventional commit.
  githubOptions: {
    pullRequestLintOptions: {
      semanticTitleOptions: { types: ['feat', 'fix', 'chore', 'docs', 'refactor', 'test', 'perf', 'build', 'ci', 'revert'] },
    },
  },
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,

  // cdkVersion is the floor we promise: consumers may use any aws-cdk-lib >= it. It is also the exact
  // version our tests compile and synthesize against (projen pins the devDependency to it), so the
  // floor is proven, not hoped for. 2.189.1 is the oldest release with everything the constructs use
  // (Table.pointInTimeRecoverySpecification, Function.logGroup, the Node.js 22 runtime family)
  // without deprecated props; going lower would need fallbacks we could not test.
  cdkVersion: '2.189.1',
  // constructs 10.4.2 is the version aws-cdk-go v2.189.1 itself requires. constructs 10.5 added
  // IMixin (`Construct.with`): a library compiled against 10.5 generates Go and .NET bindings that
  // reference it, and aws-cdk-go <= v2.238 does not compile against constructs-go 10.5
  // (aws/aws-cdk#37041). Built against 10.4.2, every language links at the cdkVersion floor; newer
  // constructs 10.x still satisfy the peer range.
  constructsVersion: '10.4.2',
  // jsii 6.0 compiles with TypeScript 6.0; pin TypeScript to the same line so "latest" cannot drift ahead.
  jsiiVersion: '~6.0.0',
  typescriptVersion: '~6.0.0',
  // The workflows build, test and release on Node.js 22: Node.js 20 is end of life (jsii warns so
  // since 2026-10-30), and the release's commit-and-tag-version 13 declares Node.js >= 22. The
  // floor in `engines` is 20.16, what jsii 6 and jsii-rosetta declare, because it is true: the whole
  // test command passes on Node.js 20.20 too. The handlers run on Lambda's nodejs22.x (lambdaOptions).
  minNodeVersion: '20.16.0',
  workflowNodeVersion: '22.x',
  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: {
    include: ['scripts/**/*.ts', '.projenrc.ts'],
    compilerOptions: {
      // The example apps import the library by its package name, as a user writes it; in this
      // repository that name is the library's own source (the demo resolves it the same way).
      paths: { 'cdk-partition-replicated-bucket': ['./src/index.ts'] },
    },
  },

  // Typed linting of src, test and scripts against tsconfig.dev.json (which includes them all).
  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'scripts', 'projenrc', 'bench'],
    tsconfigPath: './tsconfig.dev.json',
    projectService: false,
  },

  publishToPypi: {
    distName: 'cdk-partition-replicated-bucket',
    module: 'cdk_partition_replicated_bucket',
  },
  publishToMaven: {
    javaPackage: 'io.github.cdkpartitionreplicatedbucket',
    mavenGroupId: 'io.github.cdk-partition-replicated-bucket',
    mavenArtifactId: 'cdk-partition-replicated-bucket',
  },
  publishToNuget: {
    dotNetNamespace: 'CdkPartitionReplicatedBucket',
    packageId: 'CdkPartitionReplicatedBucket',
  },
  publishToGo: {
    moduleName: 'github.com/cdk-partition-replicated-bucket/cdk-partition-replicated-bucket-go',
  },

  lambdaOptions: {
    // Node.js 22 is the newest runtime offered in every partition (China included). Pinned so a
    // consumer's snapshot does not change when the CDK's "latest" moves.
    runtime: awscdk.LambdaRuntime.NODEJS_22_X,
    // Bundle the SDK instead of using the runtime's copy (projen externalises @aws-sdk/* by default).
    bundlingOptions: { externals: [], sourcemap: false },
  },

  devDeps: [
    `@aws-sdk/client-s3@${SDK_VERSION}`,
    `@aws-sdk/lib-storage@${SDK_VERSION}`,
    `@aws-sdk/client-dynamodb@${SDK_VERSION}`,
    `@aws-sdk/client-secrets-manager@${SDK_VERSION}`,
    `@aws-sdk/client-sqs@${SDK_VERSION}`,
    `@aws-sdk/client-iam@${SDK_VERSION}`,
    `@aws-sdk/client-sts@${SDK_VERSION}`,
    `@aws-lambda-powertools/logger@${POWERTOOLS_VERSION}`,
    `@aws-lambda-powertools/metrics@${POWERTOOLS_VERSION}`,
    `@aws-lambda-powertools/batch@${POWERTOOLS_VERSION}`,
    '@types/aws-lambda@^8.10.0',
    // The benchmark's S3 clients use keep-alive agents sized for the engine's concurrency.
    '@smithy/node-http-handler@^4.0.0',
    // cdk-nag 2.38 requires constructs ^10.5.1, above our floor; 2.37.55 is the newest that accepts it.
    'cdk-nag@~2.37.55',
    // The jest test sequencer (test/emulated/emulators/slowest-first-sequencer.js) extends jest's own.
    '@jest/test-sequencer@^30.5.2',
    // The integration test (test/integ/): integ-tests-alpha is released with every aws-cdk-lib
    // version; the registry mirror here has no 2.189.1-alpha.0, so the newest release at or below
    // the cdkVersion floor, whose peer range (^2.187.0) includes 2.189.1. Pinned exactly so the
    // committed snapshot (which contains its assertion handler) only moves when we move it.
    '@aws-cdk/integ-tests-alpha@2.187.0-alpha.0',
    '@aws-cdk/integ-runner@2.197.10',
  ],

  jestOptions: {
    // Snapshots are a contract: the test task fails on a difference; `npx projen test:update` rewrites.
    updateSnapshot: UpdateSnapshot.NEVER,
    jestConfig: {
      // Coverage is its own task (test:coverage): v8 coverage made the emulated tier 20 % slower
      // (339 s against 272 s on this 2-core machine), and nothing reads the report in the test run.
      collectCoverage: false,
      // Two workers, each with its own pair of moto servers (test/emulated/emulators/global-setup.ts): a moto
      // server runs one request at a time, so the two heavy runtime files (backfill, fault matrix)
      // only run in parallel on servers of their own. jest's default on 2 cores is one worker.
      maxWorkers: 2,
      // Read from the top level only: jest ignores a project's own testTimeout.
      testTimeout: 120_000,
      // The minutes-long files first, one on each worker (a fresh clone has no timing cache).
      testSequencer: '<rootDir>/test/emulated/emulators/slowest-first-sequencer.js',
      // The test tiers (README "Layout"): `unit` needs no server; `emulated` starts the moto servers
      // (only when one of its tests is selected). test/consumer/ and test/integ/ run on their own
      // tasks (test:typescript needs the packed tarball; integ-runner owns the integ app).
      projects: [
        testTier('unit'),
        testTier('emulated', {
          globalSetup: '<rootDir>/test/emulated/emulators/global-setup.ts',
          globalTeardown: '<rootDir>/test/emulated/emulators/global-teardown.ts',
        }),
      ],
    },
  },

  gitignore: ['/.venv/', '/.bench/', '/dist-consumer/', '/cdk.out/', '/.tools/', '/.jsii.tabl.json', '__pycache__/', '/.pytest_cache/'],
});

// The registry lacks some non-Linux builds of unrs-resolver 1.13 (pulled in by eslint-import-resolver),
// which breaks `npm ci` on a fresh lockfile.
project.package.addPackageResolutions('unrs-resolver@1.12.2');
// jsii-pacmak writes the npm versions of aws-cdk-lib's asset packages into the generated Go module's
// go.mod. npm would resolve @aws-cdk/asset-awscli-v1 ^2.2.229 to its newest release, whose Go module
// needs Go 1.26 and is not served by every Go proxy; pin the version aws-cdk-go v2.189.1 (our floor)
// itself requires, so the published Go module asks for nothing newer than the floor does.
project.package.addPackageResolutions('@aws-cdk/asset-awscli-v1@2.2.229');
// The examples are exercised by the consumer tests; like cdklabs libraries, the package ships none.
project.npmignore?.exclude('/examples/', '/rosetta/', '/.tools/', '/.jsii.tabl.json', '/cdk.out/', '/scripts/', '/bench/', '/.bench/', '/.ci/', '/.venv/', '/dist-consumer/', '/.pytest_cache/');

// The handlers and their runtime are bundled (esbuild) with pinned devDependencies, and the runtime
// must never pull aws-cdk-lib into a Lambda bundle.
project.eslint?.addOverride({
  files: ['src/runtime/**/*.ts', 'src/**/*.lambda.ts'],
  rules: {
    'import/no-extraneous-dependencies': ['error', { devDependencies: true, optionalDependencies: false, peerDependencies: false }],
    'no-restricted-imports': ['error', { patterns: [{ group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'], message: 'runtime code is bundled into the handlers: no CDK imports' }] }],
  },
});

// The runtime's layers, one way: handlers -> features (replication, backfill) -> engine and
// destination -> contract. Replication never imports the backfill (it reports a run's outcomes
// through the RunReports the handler gives it). The constructs read only the contract; the
// benchmarks measure only the copy engine.
const RUNTIME = './src/runtime';
const layerRule = (target: string, from: string[], why: string) => ({ target: `${RUNTIME}/${target}`, from: from.map((f) => f.startsWith('./') ? f : `${RUNTIME}/${f}`), message: why });
project.eslint?.addRules({
  'import/no-restricted-paths': ['error', {
    zones: [
      layerRule('contract', ['engine', 'destination', 'replication', 'backfill', 'operations', './src/handlers'], 'the contract is the bottom layer: it imports no other runtime folder'),
      layerRule('engine', ['destination', 'replication', 'backfill', 'operations', './src/handlers'], 'the copy engine depends only on the contract'),
      layerRule('destination', ['engine', 'replication', 'backfill', 'operations', './src/handlers'], 'destination credentials depend only on the contract'),
      layerRule('replication', ['backfill', 'operations', './src/handlers'], 'replication does not know the backfill: it reports run outcomes through the RunReports its handler is given'),
      layerRule('operations', ['backfill', './src/handlers'], 'operations (status, redrive) build on replication, engine, destination and contract; the backfill function wires them'),
      layerRule('backfill', ['./src/handlers'], 'features do not import the handlers that wire them'),
      {
        target: ['./src/*.ts', './src/private/**/*'],
        from: RUNTIME,
        except: ['./contract'],
        message: 'constructs read only the contract from the runtime (lib/ ships without the handlers\' bundled dependencies)',
      },
      { target: './bench', from: './src', except: ['./runtime/engine', './runtime/contract'], message: 'the benchmarks measure the copy engine only' },
    ],
  }],
});

// `npx projen build` packages every language outside CI. Without a .NET SDK the NuGet package cannot
// be built, so that one step says why and is skipped instead of failing the build after the tests;
// the release workflow's NuGet job installs the SDK, so it always builds there.
project.tasks.tryFind('package:dotnet')?.addCondition(
  'node -e "try { require(\'child_process\').execFileSync(\'dotnet\', [\'--version\'], { stdio: \'ignore\' }) } ' +
  'catch { console.log(\'package:dotnet skipped: no .NET SDK (dotnet) on PATH\'); process.exit(1) }"',
);

// --- Local emulated partitions -----------------------------------------------------------------
// moto_server (pinned in test/emulated/emulators/requirements.txt) runs in a project-local virtualenv, so a
// fresh clone needs nothing installed by hand.
const setupEmulators = project.addTask('setup:emulators', {
  description: 'Create .venv with the pinned moto server and Python test tools (idempotent)',
  exec: 'bash scripts/setup-venv.sh',
});

/** The task runs the bundled handlers against moto servers: it makes .venv, then the bundle, first. */
function withBundleAndEmulators(task: Task): Task {
  task.prependSpawn(project.bundler.bundleTask);
  task.prependSpawn(setupEmulators);
  return task;
}

// The runtime tests start moto servers and the construct tests synthesize the bundled handlers.
withBundleAndEmulators(project.testTask);

// The fast tier alone, for the edit-test loop: no servers, only the bundle the construct tests synthesize.
const testUnit = project.addTask('test:unit', {
  description: 'The unit tier alone (test/unit: constructs and pure runtime decisions, no servers): seconds',
  exec: 'jest --selectProjects unit --coverage=false',
});
testUnit.prependSpawn(project.bundler.bundleTask);
withBundleAndEmulators(project.addTask('test:emulated', {
  description: 'The emulated tier alone (test/emulated: runtime, handlers, fault matrix and IAM proofs against moto servers)',
  exec: 'jest --selectProjects emulated --coverage=false',
}));

withBundleAndEmulators(project.addTask('test:coverage', {
  description: 'Both jest tiers with v8 coverage; the report goes to coverage/ (about a fifth slower than test)',
  exec: 'jest --coverage --passWithNoTests --ci',
}));

// The demo synthesizes the README's example app and runs the bundled handlers it references, so it
// needs the bundle (assets/) and the emulators; both are made here, so it works after `npm ci`.
// Transpile-only: type-checking the library and aws-cdk-lib on every run would add ~20 s; the
// type check of scripts/ and examples/ is `tsc -p tsconfig.dev.json`.
withBundleAndEmulators(project.addTask('demo', {
  description: 'Synthesize the example app and run its bundled handlers against two emulated partitions; print the delivery order and both sides',
  env: { NODE_NO_WARNINGS: '1' },
  exec: 'ts-node --transpile-only --project tsconfig.dev.json scripts/demo/main.ts',
}));

const consumerTests = addConsumerTests(project);

// --- Benchmark (not part of the tests) -----------------------------------------------------------
// Two MinIO servers (built from the Go module proxy) and rclone (Debian) on loopback, moto for the
// table and queue; `scripts/setup-bench.sh` installs what is missing.
const bench = project.addTask('bench', {
  description: 'Benchmark the copy engine against the physical limit, rclone and a naive copy; prints a table',
  env: { NODE_NO_WARNINGS: '1' },
  exec: 'ts-node --project tsconfig.dev.json bench/run.ts',
});
bench.prependExec('bash scripts/setup-bench.sh');
bench.prependSpawn(setupEmulators);
// The small-object measurement runs the bundled replicator (assets/), as it is deployed.
bench.prependSpawn(project.bundler.bundleTask);

// actionlint checks every generated workflow (syntax, expressions, action inputs, job needs). It is
// a Go program: installed from the Go module proxy into the gitignored .tools/ on first use.
const ACTIONLINT_VERSION = 'v1.7.12';
const lintWorkflows = project.addTask('lint:workflows', {
  description: 'Validate .github/workflows with actionlint (installed into .tools/ from the Go module proxy)',
  steps: [
    {
      exec: `[ -x .tools/actionlint-${ACTIONLINT_VERSION}/actionlint ] || ` +
        `GOBIN="$PWD/.tools/actionlint-${ACTIONLINT_VERSION}" go install github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}`,
    },
    { exec: `.tools/actionlint-${ACTIONLINT_VERSION}/actionlint -no-color && echo "actionlint: every workflow is valid"` },
  ],
});

const integSnapshot = addIntegTests(project);

// Every TypeScript snippet of the README compiles (with rosetta/*.ts-fixture where a snippet needs a
// stack), so the examples Construct Hub translates into every language cannot rot.
const testRosetta = project.addTask('test:rosetta', {
  description: 'Compile every README snippet with jsii-rosetta (fails on any error); needs a compiled .jsii',
  exec: 'jsii-rosetta extract --compile --fail',
});

// The inventory backfill at 50,000 versions alone (it is part of test:all too): for profiling moto
// or the backfill at scale without the rest of the run.
project.addTask('test:scale', {
  description: 'The inventory backfill of 50,500 versions alone against the emulators (about 2 minutes; test:all runs it too)',
  steps: [
    { spawn: 'setup:emulators' },
    { spawn: 'bundle' },
    { exec: 'jest --selectProjects emulated --testNamePattern "50,000 versions" test/emulated/runtime/backfill/backfill-inventory.test.ts' },
  ],
});

const testAll = project.addTask('test:all', {
  description: 'Every test: workflow lint, README snippets, construct and runtime tests (jest), integration snapshot, and the Python, Java, Go, .NET-code and TypeScript consumer tests',
});
testAll.spawn(lintWorkflows);
testAll.spawn(project.compileTask);
testAll.spawn(testRosetta);
testAll.spawn(project.testTask);
// Python, Java, Go, .NET code, TypeScript: the package as each language's users install it; with the
// integ snapshot, in two lanes side by side (each task is single-threaded): Python alone, the rest
// in the other, about as long.
const [testPython, ...otherConsumerTests] = consumerTests;
const consumerLanes = project.addTask('test:consumers', {
  description: 'The integ snapshot and the consumer tests, in two lanes side by side: Python; Java, Go, .NET code, TypeScript, integ',
  exec: `bash scripts/run-lanes.sh ${testPython.name} "${[...otherConsumerTests, integSnapshot].map((task) => task.name).join(' ')}"`,
});
testAll.spawn(consumerLanes);

project.synth();
