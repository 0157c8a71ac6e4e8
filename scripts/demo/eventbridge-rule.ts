import { resourceNaming, SynthesizedFunction } from './cloud-assembly';
import { Delivery } from './deliveries';
import { Deployment } from './emulated-deployment';
import { invoke } from './lambda-invocation';
import { DELIVERY_ORDER, Step } from './scenario';
import { resolve, ResolutionContext } from '../../test/emulated/emulators/template-policies';

/** EventBridge's matching for the rule's pattern shapes: lists of values or `{prefix}`, nested objects. */
function matches(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    const actual = event?.[field];
    if (!Array.isArray(expected)) return matches(expected as Record<string, unknown>, actual as Record<string, unknown>);
    return expected.some((candidate) => (typeof candidate === 'object' && candidate !== null && 'prefix' in candidate
      ? typeof actual === 'string' && actual.startsWith((candidate as { prefix: string }).prefix)
      : actual === candidate));
  });
}

/** The event pattern of the rule that targets the router, resolved. */
export function routerRulePattern(router: SynthesizedFunction, context: ResolutionContext): Record<string, unknown> {
  return resolve(resourceNaming(router, 'AWS::Events::Rule', 'Targets').Properties.EventPattern, context) as Record<string, unknown>;
}

/** Runs one invocation of the router. */
export type RouterInvocation = (event: unknown) => Promise<{ result: unknown; lines: string[] }>;

/**
 * Plays EventBridge: the events in the delivery order (`order` names steps; default the demo's),
 * each matched against the rule and, if it matches, into the router (`run`; default in this process).
 */
export async function deliverToRouter(
  steps: Record<string, Step>, pattern: Record<string, unknown>, deployment: Deployment, started: number,
  order: readonly string[] = DELIVERY_ORDER, run: RouterInvocation = (event) => invoke(deployment.router, event),
): Promise<Delivery[]> {
  const deliveries: Delivery[] = [];
  for (const name of order) {
    const { event, label } = steps[name];
    const at = Date.now() - started;
    const base = { at, event: event['detail-type'], key: event.detail.object.key as string, version: label };
    if (!matches(pattern, event as unknown as Record<string, unknown>)) {
      deliveries.push({ ...base, target: 'EventBridge rule', outcome: 'not matched by the rule (outside reports/)' });
      continue;
    }
    const { result } = await run(event);
    deliveries.push({ ...base, target: 'router', outcome: (result as { routed: boolean }).routed ? 'queued (FIFO group of the key)' : 'not routed' });
  }
  return deliveries;
}
