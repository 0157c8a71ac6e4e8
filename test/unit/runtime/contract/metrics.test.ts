import { readFileSync } from 'fs';
import { join } from 'path';
import { DIMENSION_NAMES, METRIC_NAMES, METRICS_NAMESPACE } from '../../../../src/runtime/contract/metrics';

/** The Metrics paragraph of the README's Monitoring section: the operator's list of what the handlers publish. */
function monitoringSection(): string {
  const readme = readFileSync(join(__dirname, '..', '..', '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Monitoring'));
  const start = section.indexOf('\n**Metrics**');
  expect(start).toBeGreaterThan(0);
  return section.slice(start, section.indexOf('\n\n', start + 1));
}

test('the README\'s Metrics paragraph names the namespace and every metric of the contract, and no other', () => {
  const section = monitoringSection();
  expect(section).toContain(`namespace \`${METRICS_NAMESPACE}\``);
  const dimensions: string[] = Object.values(DIMENSION_NAMES);
  for (const dimension of dimensions) expect(section).toContain(`\`${dimension}\``);
  const named = [...section.matchAll(/`([A-Z][A-Za-z]+)`/g)].map((match) => match[1])
    .filter((name) => name !== METRICS_NAMESPACE && !dimensions.includes(name));
  expect([...new Set(named)].sort()).toEqual([...METRIC_NAMES].sort());
});

test('metric names are unique', () => {
  expect(new Set(METRIC_NAMES).size).toBe(METRIC_NAMES.length);
});
