// Reading the files and number flags the pipeline commands take; every problem is a
// CliUsageError naming the flag.
import { readFile } from 'node:fs/promises';
import { CliUsageError } from './args.js';

export { integerFlag } from './flags.js';

export async function readText(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new CliUsageError(`${flag}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** A .json file holding one flat array of token ids. */
export async function readTokenStream(path: string, flag: string): Promise<number[]> {
  const text = await readText(path, flag);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CliUsageError(`${flag}: ${path} is not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isSafeInteger(x) && x >= 0)) {
    throw new CliUsageError(`${flag}: ${path} must hold one non-empty JSON array of non-negative integer token ids`);
  }
  return v as number[];
}

