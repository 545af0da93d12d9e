import { open, readFile, unlink } from 'node:fs/promises';
import { PlatformError } from '../errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A lock file holding our pid, created exclusively. A file left by a dead process (a crash,
 * SIGKILL) is taken over; one held by a live process is a PLT_DB_LOCKED error. Returns the
 * release function.
 */
export async function acquireDirLock(
  path: string,
  code: 'PLT_DB_LOCKED' | 'PLT_STREAM_LOCKED' = 'PLT_DB_LOCKED',
): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await unlink(path).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new PlatformError(code, `${path} is held by live process ${pid}`);
      }
      if (pid === process.pid) {
        throw new PlatformError(code, `${path} is already open in this process`);
      }
      await unlink(path).catch(() => {});
    }
  }
  throw new PlatformError(code, `could not take ${path}`);
}
