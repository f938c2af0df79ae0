// The actor the durable-mailbox tests expose: it keeps how often each job
// ran, says on stdout when a job enters and when it is done (so a test knows
// without sleeping), can hang in the process a job names (to be killed
// there), can take a given time, and can fail every time.
import { defineActor } from "../../actor.ts";

/** A job: its tag, the label of the process it hangs in, if any, and how long it takes. */
export interface Job {
  tag: string;
  hangIn?: string;
  /** Milliseconds the handler takes before it returns (default: none). */
  ms?: number;
}

export const ledger = defineActor({
  init: (args: { label: string; quiet?: boolean }) => ({
    label: args.label,
    quiet: args.quiet ?? false,
    runs: {} as Record<string, number>,
  }),
  handlers: {
    work(state, job: Job): Promise<void> | void {
      state.runs[job.tag] = (state.runs[job.tag] ?? 0) + 1;
      const say = (type: string) => {
        if (!state.quiet) console.log(JSON.stringify({ type, tag: job.tag, label: state.label }));
      };
      say("entered");
      if (job.hangIn === state.label) return new Promise<never>(() => {});
      if (job.ms) {
        return new Promise<void>((resolve) => setTimeout(resolve, job.ms)).then(() =>
          say("handled")
        );
      }
      say("handled");
    },
    fail(state, tag: string) {
      state.runs[tag] = (state.runs[tag] ?? 0) + 1;
      throw new Error(`job ${tag} fails every time`);
    },
    runs: (state) => state.runs,
  },
  concurrency: 16,
});
