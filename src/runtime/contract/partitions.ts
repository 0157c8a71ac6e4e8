/**
 * Region to partition, for every partition AWS has announced. Used at synth time to validate the
 * construct's props and at run time to check that the credentials belong to the destination.
 * The order matters: more specific prefixes first.
 */
const PARTITION_PREFIXES: ReadonlyArray<readonly [prefix: string, partition: string]> = [
  ['us-gov-', 'aws-us-gov'],
  ['cn-', 'aws-cn'],
  ['us-isob-', 'aws-iso-b'],
  ['us-isof-', 'aws-iso-f'],
  ['eu-isoe-', 'aws-iso-e'],
  ['us-iso-', 'aws-iso'],
  ['eusc-', 'aws-eusc'],
];

/** Every partition name this library knows. */
export const KNOWN_PARTITIONS: readonly string[] = ['aws', ...PARTITION_PREFIXES.map(([, partition]) => partition)];

const REGION_PATTERN = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;

/** True when `region` has the shape of an AWS region name (for example `us-gov-west-1`). */
export function isRegionName(region: string): boolean {
  return REGION_PATTERN.test(region);
}

/** The partition a region belongs to; `aws` for the commercial regions. */
export function partitionOfRegion(region: string): string {
  for (const [prefix, partition] of PARTITION_PREFIXES) {
    if (region.startsWith(prefix)) return partition;
  }
  return 'aws';
}
