// Run in a child process by resume.test.ts (bundled with esbuild first): prune() with the options
// given as JSON in argv[2], SIGKILLing itself the moment a progress event matches `killAt`, so
// the interruption lands at an exact, repeatable point of the run; or, with `killAtEvent: N`, at
// its N-th progress event (the soak test's seeded kills). It prints how many events it saw.
import { prune, type PruneProgress } from '../../src/prune.js';

type KillAt = Partial<Pick<PruneProgress, 'stage' | 'layer' | 'linearIndex' | 'window'>> & { done?: boolean };

const { killAt, killAtEvent, ...options } = JSON.parse(process.argv[2]) as { killAt?: KillAt; killAtEvent?: number } & Parameters<typeof prune>[0];
let events = 0;

function matches(p: PruneProgress, k: KillAt | undefined): boolean {
  if (!k) return false;
  if (k.stage !== undefined && p.stage !== k.stage) return false;
  if (k.layer !== undefined && p.layer !== k.layer) return false;
  if (k.linearIndex !== undefined && p.linearIndex !== k.linearIndex) return false;
  if (k.window !== undefined && p.window !== k.window) return false;
  // 'prune' events come twice per linear: before it runs, and with its report once written.
  if (k.done !== undefined && (p.entry !== undefined) !== k.done) return false;
  return true;
}

const report = await prune({
  ...options,
  progress_callback: (p) => {
    if (matches(p, killAt) || events++ === killAtEvent) process.kill(process.pid, 'SIGKILL');
  },
});
process.stdout.write(JSON.stringify({ resumedFromLayer: report.resumedFromLayer, events }));
