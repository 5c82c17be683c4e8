// What the page shows of a run: the bar (layer i/N, the current linear, elapsed, ETA), the chart,
// the device and why, perplexity, the output files, and #result, whose data-state (running,
// done, error) and text (the report JSON, or the message) are what automation reads.
import { formatDuration } from '../cli/progress.js';
import type { LinearReport, PruneProgress, PruneReport } from '../prune.js';
import { drawChart } from './chart.js';

const $ = <T extends Element>(id: string) => document.getElementById(id) as unknown as T;

export class RunView {
  private readonly fill = $<HTMLElement>('progress-fill');
  private readonly bar = $<HTMLElement>('progress');
  private readonly text = $<HTMLElement>('progress-text');
  private readonly notes = $<HTMLElement>('notes');
  private readonly chart = $<SVGSVGElement>('chart');
  private readonly device = $<HTMLElement>('device');
  private readonly result = $<HTMLElement>('result');
  private readonly error = $<HTMLElement>('error');
  private readonly files = $<HTMLUListElement>('files');
  private readonly perplexity = $<HTMLElement>('perplexity');
  private entries: LinearReport[] = [];
  private start = 0;
  /** Progress when this session started (a resumed run starts part-way: the ETA counts from here). */
  private startFraction: number | null = null;

  running(askedDevice: string): void {
    this.entries = [];
    this.start = performance.now();
    this.startFraction = null;
    for (const e of [this.text, this.notes, this.error, this.perplexity, this.files]) e.replaceChildren();
    this.fill.style.width = '0';
    delete this.bar.dataset.layersDone;
    this.device.textContent = `device ${askedDevice} asked; the report says which ran`;
    this.chart.replaceChildren();
    this.result.textContent = '';
    this.result.dataset.state = 'running';
  }

  progress(p: PruneProgress): void {
    if (p.message) this.notes.append(Object.assign(document.createElement('div'), { textContent: p.message }));
    this.startFraction ??= p.progress;
    this.fill.style.width = `${(100 * p.progress).toFixed(1)}%`;
    if (p.stage === 'layer-done' && p.layer !== undefined) this.bar.dataset.layersDone = String(p.layer + 1);
    const elapsed = (performance.now() - this.start) / 1000;
    const done = p.progress - this.startFraction;
    const eta = done > 0.01 && p.progress < 1 ? `, ETA ${formatDuration((elapsed * (1 - p.progress)) / done)}` : '';
    const where = p.layer === undefined ? p.stage : `layer ${p.layer + 1}/${p.layers}`;
    const what = p.linear ?? (p.stage === 'stats' ? 'dense pass' : p.stage === 'forward' ? 'pruned pass' : p.stage);
    this.text.textContent = `${where} · ${what} · ${Math.floor(100 * p.progress)}% · ${formatDuration(elapsed)} elapsed${eta}`;
    if (p.entry) {
      this.entries.push(p.entry);
      this.draw(p.layers);
    }
  }

  private draw(layers: number): void {
    const perLayer = Math.max(1, ...this.entries.map((e) => this.entries.filter((x) => x.layer === e.layer).length));
    drawChart(this.chart, this.entries, layers, perLayer);
  }

  done(report: PruneReport, askedDevice: string, files: Array<{ name: string; href?: string }>): void {
    this.entries = report.linears;
    this.draw(report.layers);
    this.fill.style.width = '100%';
    const why = report.deviceNote ?? (askedDevice === 'auto' ? "device 'auto' chose WebGPU: a hardware adapter is here" : `device=${askedDevice} was asked`);
    this.device.textContent = `ran on ${report.device} (${report.adapter}): ${why}`;
    const resumed = report.resumedFromLayer ? `, resumed after layer ${report.resumedFromLayer}` : '';
    this.text.textContent = `done: ${report.layers} layers, sparsity ${report.sparsityCheck.toFixed(4)}, ${formatDuration(report.timings.totalMs / 1000)}${resumed}`;
    if (report.perplexity) {
      const p = report.perplexity;
      this.perplexity.textContent = `perplexity ${p.before.toFixed(3)} dense → ${p.after.toFixed(3)} pruned (${p.tokens} tokens, seqlen ${p.seqlen})`;
    }
    for (const f of files) {
      const li = document.createElement('li');
      li.append(f.href ? Object.assign(document.createElement('a'), { href: f.href, download: f.name, textContent: f.name }) : f.name);
      this.files.append(li);
    }
    this.result.textContent = JSON.stringify(report, null, 2);
    this.result.dataset.state = 'done';
  }

  failed(message: string): void {
    this.error.textContent = message;
    this.result.textContent = message;
    this.result.dataset.state = 'error';
  }
}
