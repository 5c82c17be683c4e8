// The `dsnot` command: a table of subcommands, each in src/cli/<name>.ts exporting
// `run(argv): Promise<number>` (the exit status). Loaded on demand so that one command does not
// pay for the others' imports. Bad input ends in one line on stderr and a non-zero status:
// 2 for usage errors, 1 for everything else. Any command takes --verbose (or DSNOT_DEBUG=1, or
// DEBUG=dsnot): it
// lets the native layer (Dawn, the Vulkan loader) print to the terminal as it does by itself, and
// adds stacks to errors; without it, the GPU is probed in a child process first (quietDawn).
import { quietDawn } from './backends/webgpu/probe.js';
import { CliUsageError } from './cli/args.js';

interface Command {
  summary: string;
  load(): Promise<{ run(argv: string[]): Promise<number> }>;
}

const COMMANDS: Record<string, Command> = {
  layer: { summary: 'prune one linear layer held in a safetensors file', load: () => import('./cli/layer.js') },
  prune: { summary: 'prune a whole model, one decoder layer at a time (resumable)', load: () => import('./cli/prune.js') },
  eval: { summary: 'perplexity of a model on text or token ids', load: () => import('./cli/eval.js') },
  info: { summary: 'architecture, linears, dtypes and files of a model', load: () => import('./cli/info.js') },
  app: { summary: 'serve the browser app (prune in a tab; --models DIR serves models too)', load: () => import('./cli/app.js') },
  verify: { summary: 're-check a finished prune output against its report (hashes, sparsity, input)', load: () => import('./cli/verify.js') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  dsnot ${name.padEnd(8)} ${c.summary}`);
  return ['usage: dsnot <command> [options]   (dsnot <command> --help for its options)', ...lines,
    '  --verbose (any command): also show the GPU layer\'s own messages (Dawn, Vulkan) and error stacks'].join('\n');
}

/** DEBUG=dsnot (or *), as the `debug` package's users write it. */
function debugNamespaces(): boolean {
  return (process.env.DEBUG ?? '').split(/[\s,]+/).some((n) => n === 'dsnot' || n === 'dsnot:*' || n === '*');
}

async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose') || !!process.env.DSNOT_DEBUG || debugNamespaces();
  if (!verbose) quietDawn();
  const [name, ...rest] = argv.filter((a) => a !== '--verbose');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`dsnot: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  try {
    return await (await command.load()).run(rest);
  } catch (e) {
    const err = e as Error;
    console.error(`dsnot ${name}: ${err.message}`);
    if (verbose) console.error(err.stack);
    return err instanceof CliUsageError ? 2 : 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`dsnot: ${(e as Error).message}`);
    process.exitCode = 1;
  },
);
