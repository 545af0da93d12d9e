/**
 * Fault injection for the fault suite (issue 14): when the environment variable
 * SWARMCAST_FAULT_AT names this point, the process kills itself with SIGKILL right here, as
 * `kill -9` at that moment would (no handler, no flush, no cleanup). Points are named
 * `<operation>:<where>`, e.g. `publish:after-commit`; docs/architecture.md lists them.
 * `<point>#<n>` kills the n-th time the point is reached in this process (the first-start
 * demo publishes three episodes through the same steps: `publish:after-commit#2` cuts it
 * on the second). Unset, as in every real deployment, it costs one environment lookup.
 */
export function faultPoint(name: string): void {
  const proc = (
    globalThis as {
      process?: {
        env?: Record<string, string | undefined>;
        pid: number;
        kill(pid: number, sig: string): void;
      };
    }
  ).process;
  const armed = proc?.env?.SWARMCAST_FAULT_AT;
  if (!armed || !proc) return;
  const [point, nth] = armed.split('#');
  if (point !== name) return;
  const reached = (passes.get(name) ?? 0) + 1;
  passes.set(name, reached);
  if (reached === (nth === undefined ? 1 : Number(nth))) proc.kill(proc.pid, 'SIGKILL');
}

/** How often each armed point was reached in this process. */
const passes = new Map<string, number>();
