import { ResolvedCounts } from '../../../../../src/runtime/replication/outcomes/run-reports';

describe('ResolvedCounts', () => {
  test('counts first outcomes per run and hands each run\'s count out once', () => {
    const counts = new ResolvedCounts();
    counts.add('run-a');
    counts.add('run-b');
    counts.add('run-a');
    expect(counts.take()).toEqual([['run-a', 2], ['run-b', 1]]);
    // Taken: a second flush of the same invocation adds nothing twice.
    expect(counts.take()).toEqual([]);
    counts.add('run-b');
    expect(counts.take()).toEqual([['run-b', 1]]);
  });
});
