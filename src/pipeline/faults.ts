// Faults a run cannot fix itself, turned into messages that say what happened and what to do.
// Every fault leaves the output in one of two states: the partial state a rerun resumes from (the
// journal still names the last finished layer, whatever was torn after it is rewritten), or no
// partial state at all (the rerun starts over). The message says which.
import { GpuDeviceLostError } from '../backends/webgpu/device.js';
import { WriterError } from '../io/errors.js';
import { DsnotInputError } from '../validate.js';

/** The input model changed during the run (its weight files' size or modification time). */
export class InputChangedError extends DsnotInputError {
  override name = 'InputChangedError';
}

/** A file-system fault of the output folder, with the errno code that caused it. */
export class OutputFaultError extends WriterError {
  override name = 'OutputFaultError';
  constructor(message: string, readonly code: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const RESUMES = 'run the same command again: it resumes from the last finished layer';
const STARTS_OVER = 'run the same command again: it starts over';

/** The errno code of `e` or of an error in its cause chain. */
function errnoOf(e: unknown): string | null {
  for (let x = e, depth = 0; x && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    const code = (x as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  }
  return null;
}

/**
 * `e` as the run's user should see it. `resumable`: a folder output whose partial state survives
 * (a sink output starts over). `folderGone` tells a vanished output folder from a missing file.
 */
export function explainFault(e: unknown, where: { location: string; resumable: boolean; folderGone: boolean }): unknown {
  const again = where.resumable ? RESUMES : STARTS_OVER;
  if (e instanceof GpuDeviceLostError) {
    if (e.message.includes('run the same command again')) return e;
    return new GpuDeviceLostError(`${e.message}. The GPU device was lost (a driver reset, the GPU removed, or out of its memory): ${again}, on this device kind (another one starts over)`, { cause: e });
  }
  const code = errnoOf(e);
  if (!code || e instanceof OutputFaultError) return e;
  const detail = (e as Error).message;
  const say = (what: string, todo: string) => new OutputFaultError(`${where.location}: ${what} (${detail}). ${todo}`, code, { cause: e });
  switch (code) {
    case 'ENOSPC':
      return say('the disk is full', `Free some space (or move the output folder to a larger disk), then ${again}`);
    case 'EDQUOT':
      return say('the disk quota is used up', `Free some space within the quota, then ${again}`);
    case 'EACCES':
    case 'EPERM':
      return say('permission denied while writing the output folder', `Make the folder writable for this user, then ${again}`);
    case 'EROFS':
      return say('the output folder is on a read-only file system', `Remount it read-write or choose another --out (a new folder starts over); with the same folder, ${again}`);
    case 'ENOENT':
      if (where.folderGone) return say('the output folder disappeared during the run, with its partial state', `${STARTS_OVER[0].toUpperCase()}${STARTS_OVER.slice(1)}`);
      return say('a file of the run disappeared from the output folder', `Nothing was published; ${again} (a partial state that no longer checks out is discarded)`);
    default:
      return e;
  }
}
