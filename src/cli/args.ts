// Argument parsing shared by the `dsnot` subcommands: node:util's parseArgs with strict flags,
// plus typed readers whose errors name the flag. Every usage problem is a CliUsageError, which
// the dispatcher (src/cli.ts) prints as one line before exiting with status 2.
import { parseArgs } from 'node:util';
import { CliUsageError, type FlagSpec, type ParsedArgs } from './flags.js';

export * from './flags.js';

export function parseFlags(argv: string[], options: FlagSpec, allowPositionals = false): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals });
    return { flags: values as ParsedArgs['flags'], positionals };
  } catch (e) {
    // parseArgs explains well ("Unknown option '--foo'"); keep its first sentence.
    throw new CliUsageError((e as Error).message.split('. ')[0]);
  }
}

/** parseFlags for a subcommand; with --help (-h) it prints `help` and returns null (exit 0). */
export function parseCommand(argv: string[], options: FlagSpec, help: string, allowPositionals = false): ParsedArgs | null {
  const args = parseFlags(argv, options, allowPositionals);
  if (!args.flags.help) return args;
  console.log(help);
  return null;
}

