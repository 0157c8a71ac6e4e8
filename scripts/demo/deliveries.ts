/** One delivery of an event or a queue message to a function, as the delivery table lists it. */
export interface Delivery {
  /** When it was handled, in ms since the replication started; undefined: not known. */
  readonly at?: number;
  readonly target: string;
  readonly event: string;
  readonly key: string;
  readonly version: string;
  readonly outcome: string;
}
