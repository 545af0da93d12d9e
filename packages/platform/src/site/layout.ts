/**
 * The one page frame of the whole site: portal, creator dashboard, reports (measure),
 * advertiser dashboard (ads) and admin pages all render through `page`, so they share the
 * header, navigation, typography, log-out and favicon. It lives here, in the lowest part,
 * because ads and measure (below web) draw pages too.
 */
import { siteCss } from './css.ts';
import { type Html, html, raw } from './html.ts';

/** Who is looking at the page, for the header's links. */
export interface Viewer {
  /** The account id (creator reports are keyed by it). */
  id?: string;
  name: string;
  role: 'creator' | 'advertiser' | 'admin';
}

/** Resolves the logged-in account of a request for the header (null: nobody). */
export type ViewerOf<Req> = (req: Req) => Promise<Viewer | null>;

export interface PageOptions {
  title: string;
  viewer?: Viewer | null | undefined;
  /** Extra tags for <head> (feeds, scripts). */
  head?: Html;
  /** The search box's current text. */
  query?: string;
  /** Path of the navigation entry to mark as the current page. */
  current?: string;
  /** Links above the title, e.g. [['/dashboard', 'Dashboard']]. */
  crumbs?: [href: string, label: string][];
}

const logo = raw(
  '<svg viewBox="0 0 32 32" aria-hidden="true" focusable="false"><circle cx="16" cy="16" r="15" fill="#5c6cf0"/><circle cx="16" cy="16" r="4" fill="#fff"/><circle cx="7" cy="11" r="2.5" fill="#fff"/><circle cx="25" cy="11" r="2.5" fill="#fff"/><circle cx="16" cy="27" r="2.5" fill="#fff"/><path d="M9 12l5 3m9-3l-5 3m-2 5v5" stroke="#fff" stroke-width="1.6"/></svg>',
);

/** The favicon (the node serves it at /favicon.svg and /favicon.ico; same-origin for every CSP). */
export const faviconSvg =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="15" fill="#3343b8"/><circle cx="16" cy="16" r="4" fill="#fff"/><circle cx="7" cy="11" r="2.5" fill="#fff"/><circle cx="25" cy="11" r="2.5" fill="#fff"/><circle cx="16" cy="27" r="2.5" fill="#fff"/></svg>';

/** Where each role works: the header's links after log-in. */
export function navigationOf(v: Viewer | null | undefined): [href: string, label: string][] {
  if (!v) return [];
  const links: [string, string][] = [];
  if (v.role === 'creator' || v.role === 'admin') links.push(['/dashboard', 'My shows']);
  if (v.role === 'creator' && v.id) links.push([`/measure/creator/${encodeURIComponent(v.id)}`, 'Analytics']);
  if (v.role === 'advertiser' || v.role === 'admin') links.push(['/ads/dashboard', 'Campaigns']);
  if (v.role === 'admin') links.push(['/admin', 'Admin']);
  return links;
}

/** The page frame shared by every page: landmarks, skip link, search, navigation. */
export function page(opts: PageOptions, body: Html): string {
  const v = opts.viewer;
  const nav = navigationOf(v).map(
    ([href, label]) =>
      html`<li><a href="${href}"${opts.current === href ? raw(' aria-current="page"') : ''}>${label}</a></li>`,
  );
  const crumbs = opts.crumbs?.length
    ? html`<nav class="crumbs" aria-label="Breadcrumb">${opts.crumbs.map(
        ([href, label], i) => html`${i > 0 ? ' / ' : ''}<a href="${href}">${label}</a>`,
      )}</nav>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · Swarmcast</title>
<link rel="icon" type="image/svg+xml" href="/favicon.svg">
<style>${raw(siteCss)}</style>
${opts.head}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site"><div class="bar">
<a class="brand" href="/">${logo}Swarmcast</a>
<form class="search" role="search" action="/search" method="get">
<label for="site-q" class="sr-only">Search shows and episodes</label>
<input id="site-q" type="search" name="q" placeholder="Search shows and episodes" value="${opts.query ?? ''}">
<button type="submit">Search</button>
</form>
<nav aria-label="Account"><ul>
${nav}
${
  v
    ? html`<li><form method="post" action="/logout"><button class="secondary small" type="submit">Log out <span class="sr-only">${v.name}</span></button></form></li>`
    : html`<li><a href="/login">Log in</a></li><li><a href="/signup">Sign up</a></li>`
}
</ul></nav>
</div></header>
<main id="main">
${crumbs}
${body}
</main>
<footer class="site">Swarmcast: every episode on BitTorrent and plain HTTP. ${v ? html`Logged in as ${v.name}.` : ''}</footer>
</body>
</html>`.value;
}

/**
 * The page a browser gets instead of a coded JSON error: what happened in words and where
 * to go next (log in for 401, home for 403/404).
 */
export function messagePage(
  status: 401 | 403 | 404,
  opts: { viewer?: Viewer | null | undefined; what?: string; returnTo?: string },
): string {
  const login = `/login${opts.returnTo ? `?next=${encodeURIComponent(opts.returnTo)}` : ''}`;
  const body =
    status === 401
      ? html`<h1>Please log in</h1><p>${opts.what ?? 'This page'} is only for signed-in accounts.</p>
<p class="row"><a class="button" href="${login}">Log in</a> <a class="button secondary" href="/signup">Create an account</a></p>`
      : status === 403
        ? html`<h1>Not for this account</h1><p>${opts.what ?? 'This page'} belongs to another account or role.</p>
<p><a href="/">Back to the home page</a></p>`
        : html`<h1>Page not found</h1><p>${opts.what ?? 'There is nothing at this address.'}</p>
<p class="row"><a class="button" href="/">Browse shows</a> <a class="button secondary" href="/search">Search</a></p>`;
  const title = status === 401 ? 'Log in' : status === 403 ? 'Not allowed' : 'Not found';
  return page({ title, viewer: opts.viewer }, body);
}

/** Whether the client asked for a page (a browser's navigation) rather than JSON. */
export function wantsHtml(accept: string | undefined): boolean {
  return !!accept && /text\/html/.test(accept);
}
