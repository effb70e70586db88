import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Figure, describeTarget, meets, verdict } from './targets.js';
import { loadSpread } from './stats.js';

export interface Section {
  title: string;
  /** Markdown paragraphs before the table. */
  notes?: string[];
  header: string[];
  rows: (string | number)[][];
}

export interface Bar {
  label: string;
  value: number;
}

export class Report {
  readonly sections: Section[] = [];
  readonly charts: { title: string; unit: string; bars: Bar[]; file: string }[] = [];
  readonly raw: Record<string, unknown> = {};
  readonly figures: Figure[] = [];

  /** Records a figure for the summary table (and `--check`). */
  figure(f: Figure): void {
    this.figures.push(f);
  }

  /** Figures whose target is missed. */
  misses(): Figure[] {
    return this.figures.filter((f) => meets(f) === false);
  }

  /** The summary: every figure with its spread, load average, target and verdict. */
  summary(): Section {
    return {
      title: 'Figures and targets',
      notes: [
        'Ratios are medians over interleaved rounds, each ratio taken within one round (both sides ran back to back under the same load); the range is the lowest and highest round. "load 1m" is os.loadavg()[0] at the start of each round: median (min–max). Statement counts are exact counts per request. A MISS makes `npm run bench -- --check` exit 1. "floor": the same ratio, in the same rounds, for a server whose mutation runs only the hand-written minimum protocol around the same create (bench/scenarios/floor.ts, no oncely code): lease mode, a claim INSERT committed before the work (a duplicate must see it) and a result UPDATE committed before the answer (a retry must find it), prepared on the driver pool where there is one; transactional mode, the same two statements inside Prisma\'s interactive transaction, without the isolation-level statement and the savepoint oncely adds. It is what those statements cost on this machine: a target below its floor cannot be met here by any implementation that keeps those two commits (lease) or goes through Prisma\'s public transaction API (transactional).',
      ],
      header: ['where', 'measure', 'median', 'range over rounds', 'load 1m', 'target', 'result', 'floor (minimum protocol)'],
      rows: this.figures.map((f) => [
        f.group,
        f.measure,
        f.unit === 'x' ? `${f.value.median.toFixed(2)}x` : String(+f.value.median.toFixed(2)),
        f.unit === 'x' ? `${f.value.min.toFixed(2)}–${f.value.max.toFixed(2)}` : f.value.min === f.value.max ? 'exact' : `${f.value.min}–${f.value.max}`,
        f.load ? loadSpread(f.load) : '—',
        describeTarget(f),
        verdict(f),
        f.floor ? `${f.floor.median.toFixed(2)}x (${f.floor.min.toFixed(2)}–${f.floor.max.toFixed(2)})` : '—',
      ]),
    };
  }

  /** log: print each section to the console as it is added. */
  constructor(private readonly log = true) {}

  add(section: Section): void {
    this.sections.push(section);
    if (this.log) this.print(section);
  }

  /**
   * Rows for a table another scenario may have added already (same title and header): appended to
   * it, notes included, so related rows share one table; otherwise added as a new section.
   */
  addRows(section: Section): void {
    const existing = this.sections.find((s) => s.title === section.title && s.header.join('|') === section.header.join('|'));
    if (!existing) return this.add(section);
    existing.rows.push(...section.rows);
    existing.notes = [...(existing.notes ?? []), ...(section.notes ?? [])];
    if (this.log) this.print(section);
  }

  print(section: Section): void {
    console.log(`\n## ${section.title}`);
    console.table(section.rows.map((r) => Object.fromEntries(section.header.map((h, i) => [h, r[i]]))));
  }

  chart(file: string, title: string, unit: string, bars: Bar[]): void {
    this.charts.push({ title, unit, bars, file });
  }

  write(dir: string, meta: { command: string; quick: boolean; durationS: number; machine: string[]; method: string[] }): string {
    mkdirSync(dir, { recursive: true });
    const lines = [
      '# oncely benchmarks',
      '',
      `Run ${new Date().toISOString()}, ${meta.durationS.toFixed(0)} s${meta.quick ? ' (quick mode: small counts, the numbers are noisy: a smoke run, not a measurement)' : ''}. Rerun with:`,
      '',
      '```',
      meta.command,
      '```',
      '',
      '## Machine',
      '',
      ...meta.machine.map((m) => `- ${m}`),
      '',
      '## Method',
      '',
      ...meta.method.map((m) => `- ${m}`),
      '',
    ];
    for (const s of [this.summary(), ...this.sections]) {
      lines.push(`## ${s.title}`, '');
      for (const n of s.notes ?? []) lines.push(n, '');
      lines.push(`| ${s.header.join(' | ')} |`, `|${s.header.map(() => '---').join('|')}|`);
      for (const r of s.rows) lines.push(`| ${r.join(' | ')} |`);
      lines.push('');
    }
    for (const c of this.charts) {
      writeFileSync(join(dir, c.file), svgBars(c.title, c.unit, c.bars));
      lines.push(`![${c.title}](${c.file})`, '');
    }
    const file = join(dir, 'report.md');
    writeFileSync(file, `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'results.json'), `${JSON.stringify(this.raw, null, 2)}\n`);
    return file;
  }
}

/** A horizontal bar chart as a standalone SVG: no charting dependency. */
export function svgBars(title: string, unit: string, bars: Bar[]): string {
  const width = 760;
  const labelWidth = 300;
  const rowHeight = 24;
  const top = 40;
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const height = top + bars.length * rowHeight + 20;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const rows = bars
    .map((b, i) => {
      const y = top + i * rowHeight;
      const w = Math.max(1, ((width - labelWidth - 90) * b.value) / max);
      return `<text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end" font-size="12">${esc(b.label)}</text>` +
        `<rect x="${labelWidth}" y="${y + 4}" width="${w.toFixed(1)}" height="16" fill="#3b6ea8"/>` +
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 16}" font-size="12">${b.value.toFixed(2)} ${esc(unit)}</text>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="12" y="24" font-size="15" font-weight="bold">${esc(title)}</text>
${rows}
</svg>
`;
}
