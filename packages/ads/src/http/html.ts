/**
 * The ads pages in the site's one layout (header, navigation, log-out) from the platform;
 * `h` is the site's escaper, for the string-built parts of these pages.
 */
import { escapeHtml, raw, page as sitePage, type Viewer } from '@swarmcast/platform';

export const h = (v: unknown): string => escapeHtml(String(v ?? ''));

export function page(
  title: string,
  body: string,
  o: { viewer?: Viewer | null; crumbs?: [string, string][]; current?: string } = {},
): string {
  return sitePage(
    {
      title,
      viewer: o.viewer ?? null,
      current: o.current ?? '/ads/dashboard',
      ...(o.crumbs ? { crumbs: o.crumbs } : {}),
    },
    raw(body),
  );
}
