/**
 * Fault injection for the fault suite (issue 14): when the environment variable
 * SWARMCAST_FAULT_AT names this point, the process kills itself with SIGKILL right here, as
 * `kill -9` at that moment would (no handler, no flush, no cleanup). Points are named
 * `<operation>:<where>`, e.g. `publish:after-commit`; docs/operations.md lists them. Unset,
 * as in every real deployment, it costs one environment lookup.
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
  if (proc?.env?.SWARMCAST_FAULT_AT === name) proc.kill(proc.pid, 'SIGKILL');
}
