import { awscdk, Task } from 'projen';

/** The integration test (test/integ/, aws-cdk-lib's integ-runner); returns `integ:snapshot`, which the tests run. */
export function addIntegTests(project: awscdk.AwsCdkConstructLibrary): Task {
  // The app is TypeScript run by ts-node (transpile only: tsc -p tsconfig.dev.json and eslint check its
  // types). With neither --update-on-failed nor --force, integ-runner only synthesizes and compares
  // with the committed snapshot: it never deploys, and exits 1 on any difference. Asset hashes are
  // masked in the comparison (the jest snapshots mask them too), but synthesis needs the bundles.
  const INTEG_RUNNER = 'integ-runner --directory test/integ --language typescript --app "node -r ts-node/register/transpile-only {filePath}"';
  const integSnapshot = project.addTask('integ:snapshot', {
    description: 'Synthesize the integration test app and fail on any difference from its committed snapshot (never deploys)',
    exec: INTEG_RUNNER,
  });
  integSnapshot.prependSpawn(project.bundler.bundleTask);
  const integUpdate = project.addTask('integ:update', {
    description: 'Rewrite the committed integration test snapshot without deploying (for an intended change; review the diff)',
    exec: `${INTEG_RUNNER} --update-on-failed --dry-run`,
  });
  integUpdate.prependSpawn(project.bundler.bundleTask);
  const integDeploy = project.addTask('integ:deploy', {
    description: 'Deploy the integration test to a real account, run its assertions, destroy it, and rewrite the snapshot ' +
      '(pass --profiles and --parallel-regions)',
    exec: `${INTEG_RUNNER} --update-on-failed --force`,
    receiveArgs: true,
  });
  integDeploy.prependSpawn(project.bundler.bundleTask);

  return integSnapshot;
}
