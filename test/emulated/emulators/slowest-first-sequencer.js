// jest's test order (package.json "testSequencer"): the files known to take minutes start first, one
// on each worker, and the rest fill in beside them. Without it a fresh clone (no timing cache)
// orders by file size and may start a minutes-long file last, so the whole run waits on it alone.
const Sequencer = require('@jest/test-sequencer').default;

/** The emulated files that take minutes (see README, "Development"). */
const SLOWEST = ['/backfill-scale.test.ts', '/backfill-inventory.test.ts', '/fault-matrix.test.ts'];

class SlowestFirstSequencer extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    const slow = (test) => SLOWEST.some((name) => test.path.endsWith(name));
    return [...sorted.filter(slow), ...sorted.filter((test) => !slow(test))];
  }
}

module.exports = SlowestFirstSequencer;
