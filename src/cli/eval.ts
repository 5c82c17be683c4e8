// `dsnot eval MODEL (--text FILE | --tokens FILE.json)`: perplexity through evaluate() (the
// authors' protocol by default), streaming the model one layer at a time.
import { loadTokenizer } from '../calib/tokenizers.js';
import { evaluate, type EvalProtocol, type EvaluateResult } from '../eval/perplexity.js';
import { openModel } from '../io/model.js';
import { CliUsageError, DEVICE_CHOICES, oneOf, optionalString, parseCommand, threadsFlag, type FlagSpec } from './args.js';
import { integerFlag, readText, readTokenStream } from './inputs.js';
import { ProgressBar } from './progress.js';

const FLAGS: FlagSpec = {
  text: { type: 'string' },
  tokens: { type: 'string' },
  seqlen: { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
  protocol: { type: 'string' },
  'max-tokens': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const HELP = `usage: dsnot eval MODEL (--text FILE | --tokens FILE.json) [--seqlen 2048] [--device auto|wasm|webgpu]
            [--threads auto|N] [--protocol authors|overlapping] [--max-tokens N] [--json]
--text: tokenized with the model's tokenizer; --tokens: one flat JSON array of token ids.
Protocol 'authors': non-overlapping windows of --seqlen (default min(2048, the model's positions)),
tail dropped. --json prints {"perplexity": …, "tokens": …}.`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, FLAGS, HELP, true);
  if (!args) return 0;
  if (args.positionals.length !== 1) throw new CliUsageError('one MODEL is required (dsnot eval MODEL --text FILE)');
  const textFile = optionalString(args, 'text');
  const tokensFile = optionalString(args, 'tokens');
  if ((textFile === undefined) === (tokensFile === undefined)) throw new CliUsageError('give exactly one of --text FILE or --tokens FILE.json');
  const seqlen = integerFlag(args.flags, 'seqlen');
  const maxTokens = integerFlag(args.flags, 'max-tokens');
  const protocol = oneOf(args, 'protocol', ['authors', 'overlapping'] as const, 'authors') as EvalProtocol;
  const device = oneOf(args, 'device', DEVICE_CHOICES, 'auto');
  const json = args.flags.json === true;
  const text = textFile === undefined ? undefined : await readText(textFile, '--text');
  const tokens = tokensFile === undefined ? undefined : await readTokenStream(tokensFile, '--tokens');

  const opened = await openModel(args.positionals[0]);
  const bar = new ProgressBar(process.stderr, process.stderr.isTTY === true && !json);
  let result: EvaluateResult;
  try {
    const tokenizer = text === undefined ? undefined : await loadTokenizer(opened);
    result = await evaluate({
      model: opened, text, tokens, tokenizer, seqlen, device, threads: threadsFlag(args), protocol, maxTokens,
      progress_callback: (p) => bar.update(p.progress, p.layer === undefined ? p.status : `layer ${p.layer + 1}/${p.layers}`, `${p.windows} windows`),
    });
  } finally {
    bar.done();
    await opened.close();
  }
  if (json) console.log(JSON.stringify({ perplexity: result.perplexity, tokens: result.tokens }));
  else {
    console.log(`perplexity ${result.perplexity.toFixed(4)} over ${result.tokens} tokens (${result.windows} windows of ${result.seqlen}, ${result.protocol} protocol, on ${result.device})`);
  }
  return 0;
}
