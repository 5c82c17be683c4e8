// `dsnot layer`: prune one linear layer held in a safetensors file (DESIGN.md). This is also how
// other implementations cross-check this one, so the file names and dtypes are a contract:
//   IN:  W F32 [rows, cols]; and X3 F32 [nseq, seqlen, cols] (one sequence per forward call: the
//        statistics are computed from it) or scaler_row, sum_metric_row, var F32|F64 [cols]
//   OUT: mask, init_mask U8 [rows, cols] (1 = pruned); weight F32; err, init_err F32 [rows];
//        cycles I32 [1]; __metadata__: device, timings, the options used
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { pruneLayer, type InitMethod } from '../layer.js';
import { decodeSafetensors, encodeSafetensors, type TensorEntry } from '../io/safetensors.js';
import { StatsAccumulator, type LayerStats } from '../stats.js';
import { checkDsnotOptions, checkSparsity, DsnotInputError, parseSparsity } from '../validate.js';
import { DEVICE_CHOICES, DSNOT_FLAGS, dsnotFlags, INIT_CHOICES, oneOf, optionalNumber, parseCommand, requireString, type FlagSpec } from './args.js';

const FLAGS: FlagSpec = {
  in: { type: 'string' },
  out: { type: 'string' },
  sparsity: { type: 'string' },
  init: { type: 'string' },
  ...DSNOT_FLAGS,
  device: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const HELP = `usage: dsnot layer --in IN.safetensors --out OUT.safetensors
            [--sparsity 0.6|2:4] [--init wanda|magnitude|sparsegpt|ria] [--no-dsnot]
            [--max-cycles 50] [--threshold 0.1] [--pow-var 1] [--same-sign]
            [--device auto|wasm|webgpu]
IN holds W (F32 [rows, cols]) and X3 (F32 [nseq, seqlen, cols]) or scaler_row, sum_metric_row,
var (F32|F64 [cols]). Defaults: sparsity 0.5, init wanda, DSnoT on with the authors' options.`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, FLAGS, HELP);
  if (!args) return 0;
  const inPath = requireString(args, 'in');
  const outPath = requireString(args, 'out');
  const sparsity = parseSparsity(typeof args.flags.sparsity === 'string' ? args.flags.sparsity : '0.5');
  const init: InitMethod = oneOf(args, 'init', INIT_CHOICES, 'wanda');
  const device = oneOf(args, 'device', DEVICE_CHOICES, 'auto');
  // Any number here: checkDsnotOptions below names a bad one.
  const dsnot = dsnotFlags(args, (a) => optionalNumber(a, 'max-cycles'));

  const t0 = performance.now();
  const file = decodeSafetensors(new Uint8Array(await readFile(inPath)));
  const entries = new Map(file.header.tensors.map((t) => [t.name, t]));
  const wEntry = expectTensor(entries, 'W', ['F32'], 2);
  const [rows, cols] = wEntry.shape;
  // The cheap checks first: a bad option fails before any statistics are computed.
  checkSparsity(sparsity, cols);
  checkDsnotOptions(dsnot);
  const weight = new Float32Array(file.tensor('W').slice().buffer);

  let stats: LayerStats;
  let statsSource: string;
  const x3 = entries.get('X3');
  if (x3) {
    expectTensor(entries, 'X3', ['F32'], 3);
    const [nseq, seqlen, xCols] = x3.shape;
    if (xCols !== cols) throw new DsnotInputError(`IN: X3 has ${xCols} columns; W has ${cols}`);
    if (nseq === 0 || seqlen === 0) throw new DsnotInputError('IN: X3 holds no tokens');
    const x = new Float32Array(file.tensor('X3').slice().buffer);
    const acc = await StatsAccumulator.create(cols, { hessian: init === 'sparsegpt', device });
    try {
      for (let s = 0; s < nseq; s++) acc.add(x.subarray(s * seqlen * cols, (s + 1) * seqlen * cols));
    } catch (e) {
      acc.dispose();
      throw e;
    }
    stats = await acc.finish();
    statsSource = `X3 [${nseq}, ${seqlen}, ${cols}]`;
  } else {
    if (init === 'sparsegpt') {
      throw new DsnotInputError('IN: --init sparsegpt needs X3 (the Hessian cannot come from scaler_row, sum_metric_row and var)');
    }
    const vector = (name: string) => {
      const e = expectTensor(entries, name, ['F32', 'F64'], 1);
      const bytes = file.tensor(name).slice().buffer;
      return e.dtype === 'F32' ? new Float32Array(bytes) : new Float64Array(bytes);
    };
    stats = { scalerRow: vector('scaler_row'), sumMetricRow: vector('sum_metric_row'), var: vector('var') };
    statsSource = 'given';
  }
  const t1 = performance.now();

  const result = await pruneLayer({ weight, rows, cols, stats, sparsity, init, dsnot, device });
  const t2 = performance.now();

  const metadata: Record<string, string> = {
    device: result.device,
    stats: statsSource,
    options: JSON.stringify({ sparsity, init, dsnot }),
    timings: JSON.stringify({
      read_and_stats_ms: round(t1 - t0), init_ms: round(result.timings.initMs), dsnot_ms: round(result.timings.dsnotMs),
      prune_ms: round(t2 - t1),
    }),
    cycles: String(result.cycles),
  };
  const bytes = encodeSafetensors([
    { name: 'mask', dtype: 'U8', shape: [rows, cols], data: result.mask },
    { name: 'init_mask', dtype: 'U8', shape: [rows, cols], data: result.initMask },
    { name: 'weight', dtype: 'F32', shape: [rows, cols], data: result.weight },
    { name: 'err', dtype: 'F32', shape: [rows], data: result.error },
    { name: 'init_err', dtype: 'F32', shape: [rows], data: result.initError },
    { name: 'cycles', dtype: 'I32', shape: [1], data: Int32Array.of(result.cycles) },
  ], metadata);
  await writeAtomically(outPath, bytes);

  const pruned = result.mask.reduce((a, b) => a + b, 0);
  console.log(
    `${rows}×${cols}: ${init}${dsnot ? ' + DSnoT' : ''} on ${result.device}, sparsity ${(pruned / (rows * cols)).toFixed(4)}, ` +
    `${result.cycles} cycles, ${round(t2 - t0)} ms → ${outPath}`,
  );
  return 0;
}

function expectTensor(entries: Map<string, TensorEntry>, name: string, dtypes: string[], dims: number): TensorEntry {
  const e = entries.get(name);
  if (!e) throw new DsnotInputError(`IN: no tensor named ${name}`);
  if (!dtypes.includes(e.dtype) || e.shape.length !== dims) {
    throw new DsnotInputError(`IN: ${name} must be ${dtypes.join(' or ')} with ${dims} dimension(s) (got ${e.dtype} [${e.shape.join(', ')}])`);
  }
  return e;
}

/** Write to a temporary name beside the target, then rename: never a half file under the real name. */
async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
