import { join } from 'node:path';

/**
 * Launch options for the Debian Chromium under playwright-core (`chromium.launch(...)`):
 * headless, no sandbox/GPU/QUIC/background traffic, autoplay allowed, and HOME plus XDG
 * dirs under `homeDir` (a scratch dir) so the browser writes nothing elsewhere.
 * Playwright gives every launch a fresh temporary profile of its own.
 */
export function chromiumLaunchOptions(homeDir: string): {
  executablePath: string;
  args: string[];
  env: Record<string, string | undefined>;
} {
  return {
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
    env: {
      ...process.env,
      HOME: homeDir,
      XDG_CONFIG_HOME: join(homeDir, '.config'),
      XDG_CACHE_HOME: join(homeDir, '.cache'),
    },
  };
}
