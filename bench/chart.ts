// Draws every case's ratio (ours ÷ peer) against its target as an SVG bar chart on a log scale, without a
// plotting dependency. Bars start at parity (1) and run left when ours costs less than the peer.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatValue, RESULTS_DIR, type BenchCase, type SuiteResult } from './harness';

export const DOCS_CHART = join(__dirname, '..', '..', 'docs', 'bench-ratios.svg');
export const RESULTS_CHART = join(RESULTS_DIR, 'bench-ratios.svg');

const WIDTH = 1140;
const LABEL_WIDTH = 330;
const PLOT_LEFT = LABEL_WIDTH + 20;
const PLOT_RIGHT = 880;
/** The column right of the plot: each case's ratio and target in words. */
const VALUES_LEFT = PLOT_RIGHT + 48;
const ROW_HEIGHT = 30;
const GROUP_HEADER = 30;
const TOP = 96;
const COLORS = { met: '#2e7d32', missed: '#c62828', target: '#1a1a1a', grid: '#d9d9d9', parity: '#555555', text: '#1a1a1a', muted: '#5f5f5f' };

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Three significant digits, with thousands separators and no trailing zeros: 30, 7.85, 1,210. */
function compact(value: number): string {
  return Number(value.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 3 });
}

/** "1/412" below parity, "1.3×" above: the ratio as a person reads it. */
export function ratioLabel(ratio: number): string {
  return ratio < 1 ? `1/${compact(1 / ratio)}` : `${compact(ratio)}×`;
}

function decadeLabel(exponent: number): string {
  if (exponent === 0) return '1 (parity)';
  return exponent < 0 ? `1/${(10 ** -exponent).toLocaleString('en-US')}` : `${(10 ** exponent).toLocaleString('en-US')}×`;
}

export function renderChart(results: SuiteResult[]): string {
  const cases = results.flatMap((result) => result.cases);
  const values = cases.flatMap((item) => [item.ratio, item.target, 1]);
  // Some room left of the smallest ratio for its label.
  const minExponent = Math.floor(Math.log10(Math.min(...values)) - 0.35);
  const maxExponent = Math.max(1, Math.ceil(Math.log10(Math.max(...values))));
  const x = (value: number) => PLOT_LEFT + ((Math.log10(value) - minExponent) / (maxExponent - minExponent)) * (PLOT_RIGHT - PLOT_LEFT);

  const rowsHeight = results.reduce((height, result) => height + GROUP_HEADER + result.cases.length * ROW_HEIGHT, 0);
  const plotBottom = TOP + rowsHeight;
  const height = plotBottom + 110;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="13">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="20" y="30" font-size="18" font-weight="600" fill="${COLORS.text}">KV Explorer against wrangler, Miniflare and the raw engine</text>`,
    `<text x="20" y="52" fill="${COLORS.muted}">Cost ratio ours ÷ peer (time, or bytes for the bundle), log scale. Left of parity: ours costs less. Absolute targets are drawn against the target value.</text>`,
  );

  // Decade grid lines and their labels.
  for (let exponent = minExponent; exponent <= maxExponent; exponent++) {
    const gx = x(10 ** exponent).toFixed(1);
    const isParity = exponent === 0;
    out.push(
      `<line x1="${gx}" y1="${TOP - 8}" x2="${gx}" y2="${plotBottom}" stroke="${isParity ? COLORS.parity : COLORS.grid}" stroke-width="${isParity ? 1.5 : 1}"/>`,
      `<text x="${gx}" y="${TOP - 14}" text-anchor="middle" fill="${COLORS.muted}">${escapeXml(decadeLabel(exponent))}</text>`,
      `<text x="${gx}" y="${plotBottom + 18}" text-anchor="middle" fill="${COLORS.muted}">${escapeXml(decadeLabel(exponent))}</text>`,
    );
  }

  out.push(
    `<text x="${VALUES_LEFT}" y="${TOP - 14}" font-weight="600" fill="${COLORS.text}">ratio</text>`,
    `<text x="${VALUES_LEFT + 84}" y="${TOP - 14}" font-weight="600" fill="${COLORS.text}">target</text>`,
  );
  let y = TOP;
  for (const result of results) {
    out.push(
      `<text x="20" y="${y + 20}" font-size="14" font-weight="600" fill="${COLORS.text}">${escapeXml(result.suite)}</text>`,
      `<line x1="20" y1="${y + 26}" x2="${WIDTH - 20}" y2="${y + 26}" stroke="${COLORS.grid}"/>`,
    );
    y += GROUP_HEADER;
    for (const item of result.cases) {
      out.push(...renderRow(item, y, x));
      y += ROW_HEIGHT;
    }
  }

  // Legend and provenance.
  const legendY = plotBottom + 44;
  out.push(
    `<rect x="20" y="${legendY - 11}" width="18" height="12" fill="${COLORS.met}"/>`,
    `<text x="44" y="${legendY}" fill="${COLORS.text}">target met</text>`,
    `<rect x="130" y="${legendY - 11}" width="18" height="12" fill="${COLORS.missed}"/>`,
    `<text x="154" y="${legendY}" fill="${COLORS.text}">target missed</text>`,
    `<line x1="262" y1="${legendY - 14}" x2="262" y2="${legendY + 3}" stroke="${COLORS.target}" stroke-width="3"/>`,
    `<text x="272" y="${legendY}" fill="${COLORS.text}">target (the ratio must be at or left of it)</text>`,
  );
  const first = results[0];
  if (first) {
    const modes = [...new Set(results.map((result) => result.mode))].join('+');
    const dates = results.map((result) => result.date.slice(0, 10)).sort();
    const machine = `${first.machine.cpus} × ${first.machine.cpuModel}, ${first.machine.memoryGiB} GiB, Node ${first.machine.node}, ${first.machine.os}`;
    out.push(
      `<text x="20" y="${legendY + 26}" fill="${COLORS.muted}">${escapeXml(`${modes} run, ${dates[0]}${dates[dates.length - 1] !== dates[0] ? ` to ${dates[dates.length - 1]}` : ''}; medians of ≥5 alternating repetitions; ${machine} (shared).`)}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function renderRow(item: BenchCase, y: number, x: (value: number) => number): string[] {
  const middle = y + ROW_HEIGHT / 2;
  const color = item.met ? COLORS.met : COLORS.missed;
  const start = x(1);
  const end = x(item.ratio);
  const barLeft = Math.min(start, end);
  const barWidth = Math.max(2, Math.abs(end - start));
  const targetX = x(item.target).toFixed(1);
  return [
    `<text x="${LABEL_WIDTH}" y="${middle + 4}" text-anchor="end" fill="${COLORS.text}">${escapeXml(item.name)}</text>`,
    `<rect x="${barLeft.toFixed(1)}" y="${(middle - 8).toFixed(1)}" width="${barWidth.toFixed(1)}" height="16" fill="${color}" rx="2"><title>${escapeXml(
      `${item.name}: ours ${formatValue(item.ours)} ${item.unit}, ${item.peerName} ${formatValue(item.peer)} ${item.unit}; ratio ${item.ratio.toPrecision(3)}, target ≤ ${item.target.toPrecision(3)}`,
    )}</title></rect>`,
    `<line x1="${targetX}" y1="${(middle - 12).toFixed(1)}" x2="${targetX}" y2="${(middle + 12).toFixed(1)}" stroke="${COLORS.target}" stroke-width="3"/>`,
    `<text x="${VALUES_LEFT}" y="${middle + 4}" font-weight="600" fill="${color}">${escapeXml(ratioLabel(item.ratio))}</text>`,
    `<text x="${VALUES_LEFT + 84}" y="${middle + 4}" fill="${COLORS.muted}">${escapeXml(`≤ ${ratioLabel(item.target)}`)}</text>`,
  ];
}

/** Writes the chart next to the results, and into docs/ when every result comes from a full run. */
export function writeCharts(results: SuiteResult[]): string[] {
  if (results.length === 0) return [];
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(RESULTS_CHART, renderChart(results));
  const written = [RESULTS_CHART];
  if (results.every((result) => result.mode === 'full')) {
    copyFileSync(RESULTS_CHART, DOCS_CHART);
    written.push(DOCS_CHART);
  }
  return written;
}
