/**
 * The collector of the NATS demo: the front service's record of every job a
 * parser service reported done, by process. Reports arrive at least once, so
 * it counts a job once and the repeats apart.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** A parser service's report of one job. */
export interface Report {
  job: number;
  by: string;
  pid: number;
  sum: number;
}

/** Keeps which process did each job first, and how many jobs were done twice. */
export const collector = defineActor({
  init: () => ({
    first: new Map<number, string>(),
    byProcess: {} as Record<string, number>,
    repeats: {} as Record<string, number>,
    pids: {} as Record<string, number>,
    checksum: 0,
  }),
  handlers: {
    done(state, report: Report) {
      state.pids[report.by] = report.pid;
      if (state.first.has(report.job)) {
        state.repeats[report.by] = (state.repeats[report.by] ?? 0) + 1;
        return;
      }
      state.first.set(report.job, report.by);
      state.byProcess[report.by] = (state.byProcess[report.by] ?? 0) + 1;
      state.checksum += report.sum;
    },
    summary: (state) => ({
      jobs: state.first.size,
      byProcess: state.byProcess,
      repeats: state.repeats,
      pids: state.pids,
      checksum: state.checksum,
    }),
  },
});
