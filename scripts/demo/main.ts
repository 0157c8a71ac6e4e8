/**
 * The local demo: what a consumer deploys, run against two emulated partitions. It synthesizes the
 * README's example app (examples/typescript/app.ts), reads the cloud assembly, "deploys" the
 * resources the router's and the replicator's environment variables name (and the destination
 * stack's bucket and user) into two moto servers, and invokes the bundled handlers from the
 * assembly's asset directories as Lambda would. Source objects get several versions, a delete and a
 * tag change; their events reach the router in a fixed order in which one older version arrives
 * after a newer one, and the FIFO queue hands them to the replicator. Prints the delivery order
 * with each outcome, then source versus destination; exits non-zero if they differ.
 * Run with `npx projen demo`.
 */
import { EXAMPLE_APP, findFunction, LIBRARY, OUTDIR, ROOT, StackArtifact, SynthesizedFunction, synthesizeExample } from './cloud-assembly';
import { deployExample, Deployment } from './emulated-deployment';
import { deliverToRouter, routerRulePattern } from './eventbridge-rule';
import { deliverToReplicator } from './replicator-poller';
import { BucketSide, compareBuckets, elapsed, failOnProblems, printDeliveries, printDeployment, printFindings, printTimes, problemsOf } from './report';
import { labelsOf, writeSourceObjects } from './scenario';
import { EmulatedPartitions, startEmulatedPartitions } from '../../test/emulated/emulators/emulated-partitions';
import { DESTINATION_REGION, destinationS3, emulators, SOURCE_REGION, sourceS3 } from '../../test/emulated/emulators/partitions';
import { S3EventSource } from '../../test/emulated/emulators/s3-events';

const relative = (path: string) => path.slice(ROOT.length + 1);

/** Synthesizes the example app and finds its router and replicator (one stack holds both). */
function synthesize(started: number): { stacks: StackArtifact[]; router: SynthesizedFunction; replicator: SynthesizedFunction } {
  console.log(`Synthesizing ${relative(EXAMPLE_APP)} ('${LIBRARY}' resolved to this repository's src/) into ${relative(OUTDIR)}/ ...`);
  const stacks = synthesizeExample();
  const router = findFunction(stacks, '/Router/Resource');
  const replicator = findFunction(stacks, '/Replicator/Resource');
  if (router.stack !== replicator.stack) throw new Error('the router and the replicator are in different stacks');
  console.log(`  ${router.stack.name}: router ${router.logicalId} (${relative(router.assetDir)}/index.js), ` +
    `replicator ${replicator.logicalId} (${relative(replicator.assetDir)}/index.js)  [${elapsed(started)}]`);
  return { stacks, router, replicator };
}

async function startPartitions(): Promise<EmulatedPartitions> {
  console.log(`Starting two emulated partitions: source ${SOURCE_REGION} (aws), destination ${DESTINATION_REGION} (aws-us-gov), IAM enforced in both ...`);
  const started = Date.now();
  const partitions = await startEmulatedPartitions();
  const { sourceEndpoint, destinationEndpoint } = emulators();
  console.log(`  source ${sourceEndpoint}, destination ${destinationEndpoint}  [${elapsed(started)}]`);
  return partitions;
}

/**
 * Writes the source objects, plays EventBridge (the rule's pattern, the delivery order) into the
 * router, then the Lambda SQS poller into the replicator.
 */
async function replicate(source: BucketSide, deployment: Deployment, router: SynthesizedFunction, replicator: SynthesizedFunction) {
  const steps = await writeSourceObjects(new S3EventSource(source.s3, source.bucket, SOURCE_REGION));
  const pattern = routerRulePattern(router, deployment.context);
  const started = Date.now();
  const routed = await deliverToRouter(steps, pattern, deployment, started);
  const replicated = await deliverToReplicator(replicator, deployment, labelsOf(steps), started);
  return { ...replicated, routed, timeMs: Date.now() - started };
}

async function main(): Promise<void> {
  const { stacks, router, replicator } = synthesize(Date.now());
  const partitions = await startPartitions();
  try {
    const emulated = emulators();
    const deployStarted = Date.now();
    const deployment = await deployExample(stacks, router, replicator, emulated);
    printDeployment(deployment, deployStarted);

    const source = { s3: sourceS3(emulated.sourceEndpoint, emulated.sourceAdmin), bucket: deployment.router.environment.SOURCE_BUCKET_NAME };
    const destination = {
      s3: destinationS3(emulated.destinationEndpoint, emulated.destinationAdmin), bucket: deployment.replicator.environment.DESTINATION_BUCKET_NAME,
    };
    const replication = await replicate(source, deployment, router, replicator);
    const deliveries = [...replication.routed, ...replication.deliveries];
    printDeliveries(deliveries);

    const mismatches = await compareBuckets(source, destination);
    printFindings(deliveries, mismatches);
    printTimes(replication.deliveries.length, replication.timeMs);
    failOnProblems(problemsOf({ mismatches, ...replication }));
  } finally {
    await partitions.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
