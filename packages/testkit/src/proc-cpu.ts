import { readFileSync } from 'node:fs';

/**
 * utime + stime of a process, in seconds, from /proc (Linux; clock ticks of 1/100 s). For
 * benches that quote the CPU a child process spent per operation beside its throughput.
 */
export function cpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
