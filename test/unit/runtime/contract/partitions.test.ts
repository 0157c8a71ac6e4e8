import { isRegionName, KNOWN_PARTITIONS, partitionOfRegion } from '../../../../src/runtime/contract/partitions';

const REGIONS: Array<[region: string, partition: string]> = [
  ['us-east-1', 'aws'],
  ['eu-west-1', 'aws'],
  ['ap-southeast-5', 'aws'],
  ['il-central-1', 'aws'],
  ['us-gov-west-1', 'aws-us-gov'],
  ['us-gov-east-1', 'aws-us-gov'],
  ['cn-north-1', 'aws-cn'],
  ['cn-northwest-1', 'aws-cn'],
  ['us-iso-east-1', 'aws-iso'],
  ['us-iso-west-1', 'aws-iso'],
  ['us-isob-east-1', 'aws-iso-b'],
  ['eu-isoe-west-1', 'aws-iso-e'],
  ['us-isof-south-1', 'aws-iso-f'],
  ['us-isof-east-1', 'aws-iso-f'],
  ['eusc-de-east-1', 'aws-eusc'],
];

describe('partitionOfRegion', () => {
  test.each(REGIONS)('%s is in %s', (region, partition) => {
    expect(partitionOfRegion(region)).toBe(partition);
  });
});

describe('isRegionName', () => {
  test.each(REGIONS.map(([region]) => region))('accepts %s', (region) => {
    expect(isRegionName(region)).toBe(true);
  });

  test.each(['us-gov-west', 'US-EAST-1', '', 'useast1', 'us-east-1 ', 'us-east-', 'us_east_1', 'us-east-123'])('rejects %j', (region) => {
    expect(isRegionName(region)).toBe(false);
  });
});

describe('KNOWN_PARTITIONS', () => {
  test.each(['aws', 'aws-us-gov', 'aws-cn', 'aws-iso', 'aws-iso-b', 'aws-iso-e', 'aws-iso-f', 'aws-eusc'])('contains %s', (partition) => {
    expect(KNOWN_PARTITIONS).toContain(partition);
  });

  test('has no duplicates and contains the partition of every region above', () => {
    expect(new Set(KNOWN_PARTITIONS).size).toBe(KNOWN_PARTITIONS.length);
    for (const [region] of REGIONS) expect(KNOWN_PARTITIONS).toContain(partitionOfRegion(region));
  });
});
