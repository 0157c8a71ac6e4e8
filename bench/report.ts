// Turning repeated measurements into the Markdown table the benchmark prints and saves.
import { MiB } from './test-data';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The index of the run whose value is the median (for the notes that go with it, e.g. its CPU). */
export function medianIndex(values: readonly number[]): number {
  const m = median(values);
  return values.reduce((best, value, i) => (Math.abs(value - m) < Math.abs(values[best] - m) ? i : best), 0);
}

/** "812.3 MiB/s (3 runs: 790.1–830.4, spread 5 %)": the spread is (max − min) / median. */
export function rateWithSpread(bytesPerSecond: readonly number[]): string {
  const rates = bytesPerSecond.map((rate) => rate / MiB);
  const m = median(rates);
  const spread = ((Math.max(...rates) - Math.min(...rates)) / m) * 100;
  return `**${m.toFixed(1)} MiB/s** (${rates.length} runs: ${Math.min(...rates).toFixed(1)}–${Math.max(...rates).toFixed(1)}, spread ${spread.toFixed(0)} %)`;
}

export interface Row {
  readonly measurement: string;
  readonly result: string;
  readonly target?: string;
  /** true: met, false: missed, undefined: no target. */
  readonly met?: boolean;
  readonly notes?: string;
}

export function markdownTable(rows: readonly Row[]): string {
  const cell = (text: string | undefined) => (text ?? '').replace(/\|/g, '\\|').replace(/\n/g, '<br>');
  const lines = [
    '| # | Measurement | Result | Target | Met | Notes |',
    '|---|---|---|---|---|---|',
    ...rows.map((row, i) => `| ${i + 1} | ${cell(row.measurement)} | ${cell(row.result)} | ${cell(row.target)} | ${row.met === undefined ? '' : row.met ? 'yes' : '**no**'} | ${cell(row.notes)} |`),
  ];
  return lines.join('\n');
}

export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

export function ms(value: number): string {
  return `${value.toFixed(2)} ms`;
}
