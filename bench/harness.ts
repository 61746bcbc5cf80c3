// The one measuring harness every suite uses: contenders run alternately (A B C, C B A, …) after a warm-up,
// each counted repetition yields one sample per contender, and cases report the median ratio ours ÷ peer.
//
// Convention for every case: the measured quantity is a cost (wall time, time per operation, bytes), so lower is
// better and a target is met when ratio ≤ target. "At least 30× faster than Miniflare" is the target 1/30.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, type as osType, release } from 'node:os';
import { join } from 'node:path';

export interface RunOptions {
  quick: boolean;
}

export interface Contender {
  name: string;
  /** Runs one repetition and returns its cost in the case's unit (the contender times only the work itself). */
  measure(): Promise<number>;
}

export interface AlternateOptions {
  warmup: number;
  reps: number;
  /** Printed before each round, so a long run shows progress. */
  label: string;
}

/** Samples per contender, in repetition order (warm-up runs dropped). */
export type Samples = Record<string, number[]>;

/** Runs every contender `warmup + reps` times, alternating the order each round so neither always goes first. */
export async function alternate(contenders: Contender[], options: AlternateOptions): Promise<Samples> {
  const samples: Samples = Object.fromEntries(contenders.map((contender) => [contender.name, [] as number[]]));
  const rounds = options.warmup + options.reps;
  for (let round = 0; round < rounds; round++) {
    const counted = round >= options.warmup;
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    const line: string[] = [];
    for (const contender of order) {
      const value = await contender.measure();
      if (!Number.isFinite(value) || value < 0) throw new Error(`${options.label}: ${contender.name} measured ${value}`);
      if (counted) samples[contender.name].push(value);
      line.push(`${contender.name} ${formatValue(value)}`);
    }
    log(`  ${options.label} ${counted ? `rep ${round - options.warmup + 1}/${options.reps}` : 'warm-up'}: ${line.join(', ')}`);
  }
  return samples;
}

export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Wall time of `work` in milliseconds. */
export async function timeMs(work: () => Promise<unknown> | unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

// ------------------------------------------------------------------ results

export interface BenchCase {
  name: string;
  unit: string;
  /** Median of ours. */
  ours: number;
  /** Median of the peer; for an absolute target, the target itself (see peerName). */
  peer: number;
  peerName: string;
  /** ours ÷ peer. */
  ratio: number;
  better: 'lower' | 'higher';
  /** The ratio the case must reach (≤ for 'lower'). */
  target: number;
  met: boolean;
  oursSamples: number[];
  peerSamples: number[];
  /** What was measured, in a sentence (sizes, what the peer does). */
  detail: string;
}

export interface SuiteResult {
  suite: string;
  date: string;
  mode: 'quick' | 'full';
  machine: Machine;
  cases: BenchCase[];
  /** Facts about the run that are not cases (sizes, seeding, versions). */
  notes: string[];
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  node: string;
  os: string;
  memoryGiB: number;
  /** 1-minute load average when the suite finished: the machine is shared, so this says how busy it was. */
  loadAverage1m: number;
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    node: process.version,
    os: `${osType()} ${release()}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage1m: Math.round(loadavg()[0] * 100) / 100,
  };
}

export interface CaseInput {
  name: string;
  unit: string;
  ours: number[];
  peer: number[];
  peerName: string;
  target: number;
  detail: string;
}

/** A case from samples: medians, ratio ours ÷ peer, lower is better. */
export function ratioCase(input: CaseInput): BenchCase {
  const ours = median(input.ours);
  const peer = median(input.peer);
  const ratio = ours / peer;
  return {
    name: input.name,
    unit: input.unit,
    ours,
    peer,
    peerName: input.peerName,
    ratio,
    better: 'lower',
    target: input.target,
    met: ratio <= input.target,
    oursSamples: input.ours,
    peerSamples: input.peer,
    detail: input.detail,
  };
}

/**
 * A case with an absolute target (activation time, bundle size, folder expansion): the peer is the target value
 * itself, so the ratio is ours ÷ target and the case is met at ratio ≤ 1.
 */
export function absoluteCase(input: { name: string; unit: string; ours: number[]; limit: number; detail: string }): BenchCase {
  return ratioCase({
    name: input.name,
    unit: input.unit,
    ours: input.ours,
    peer: [input.limit],
    peerName: `target ${formatValue(input.limit)} ${input.unit}`,
    target: 1,
    detail: input.detail,
  });
}

export const RESULTS_DIR = join(__dirname, '..', '..', 'bench', 'results');

export function writeSuiteResult(result: SuiteResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${result.suite}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}

// ------------------------------------------------------------------ printing

export function log(line: string): void {
  process.stdout.write(line + '\n');
}

/** 3 significant digits, without exponent notation for the ranges a bench produces. */
export function formatValue(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** "0.0123 (81× faster)" style text for a ratio of costs. */
export function formatRatio(ratio: number): string {
  if (ratio < 1) return `${ratio.toPrecision(3)} (${formatValue(1 / ratio)}× less)`;
  return ratio.toPrecision(3);
}

export function formatTarget(target: number): string {
  return target < 1 ? `≤ ${target.toPrecision(3)} (1/${formatValue(1 / target)})` : `≤ ${formatValue(target)}`;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/** The table printed after each suite. */
export function renderTable(result: SuiteResult): string {
  const header = ['case', 'unit', 'ours', 'peer', 'peer value', 'ratio', 'target', 'result'];
  const rows = result.cases.map((item) => [
    item.name,
    item.unit,
    formatValue(item.ours),
    item.peerName,
    formatValue(item.peer),
    formatRatio(item.ratio),
    formatTarget(item.target),
    item.met ? 'met' : 'MISSED',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const numeric = new Set([2, 4]);
  const line = (cells: string[]) => cells.map((cell, column) => pad(cell, widths[column], numeric.has(column))).join('  ');
  return [
    `${result.suite} (${result.mode}, ${result.date}, ${result.machine.cpus} CPUs, Node ${result.machine.node}, load ${result.machine.loadAverage1m})`,
    line(header),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

/** The same table as Markdown, for docs/performance.md. */
export function renderMarkdownTable(results: SuiteResult[]): string {
  const lines = ['| suite | case | ours | peer | ratio (ours ÷ peer) | target | result |', '| --- | --- | ---: | --- | ---: | --- | --- |'];
  for (const result of results) {
    for (const item of result.cases) {
      lines.push(
        `| ${result.suite} | ${item.name} | ${formatValue(item.ours)} ${item.unit} | ${item.peerName}: ${formatValue(item.peer)} ${item.unit} | ` +
          `${formatRatio(item.ratio)} | ${formatTarget(item.target)} | ${item.met ? 'met' : '**missed**'} |`,
      );
    }
  }
  return lines.join('\n');
}
