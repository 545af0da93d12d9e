import { type Html, html, raw } from './html.ts';

/** Who is looking at the page, for the header's links. */
export interface Viewer {
  name: string;
  role: 'creator' | 'advertiser' | 'admin';
}

export interface PageOptions {
  title: string;
  viewer?: Viewer | null;
  /** Extra tags for <head> (feeds, scripts). */
  head?: Html;
  /** The search box's current text. */
  query?: string;
}

const css = raw(`
:root{--fg:#1d2330;--muted:#5b6475;--bg:#f6f7fb;--card:#fff;--line:#dfe3ec;--accent:#3848c8;--accent-fg:#fff;--danger:#b3261e;--ok:#1f7a3d;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);line-height:1.5}
*{box-sizing:border-box}body{margin:0}[hidden]{display:none!important}
a{color:var(--accent)}a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid #f3a712;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:9}
header.site{background:#151a2d;color:#fff}
header.site .bar{max-width:72rem;margin:0 auto;padding:.75rem 1rem;display:flex;flex-wrap:wrap;gap:.75rem 1.5rem;align-items:center}
header.site a{color:#fff;text-decoration:none}.brand{font-weight:700;font-size:1.25rem;letter-spacing:.02em}
header.site nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0;flex-wrap:wrap;align-items:center}
header.site form{flex:1;min-width:14rem;display:flex;gap:.5rem}
header.site input[type=search]{flex:1;padding:.45rem .6rem;border-radius:.4rem;border:0;font:inherit}
main{max-width:72rem;margin:0 auto;padding:1.5rem 1rem 3rem}
h1{font-size:1.8rem;margin:.2rem 0 1rem}h2{font-size:1.3rem;margin:1.5rem 0 .75rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:1rem;list-style:none;padding:0;margin:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:1rem}
.card h3{margin:0 0 .3rem;font-size:1.05rem}.meta{color:var(--muted);font-size:.9rem}
.list{list-style:none;padding:0;margin:0}.list li{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.75rem 1rem;margin-bottom:.5rem}
button,.button{background:var(--accent);color:var(--accent-fg);border:0;border-radius:.4rem;padding:.5rem 1rem;font:inherit;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#e7e9f3;color:var(--fg)}
form.stack{display:grid;gap:.8rem;max-width:34rem}
form.stack label{display:grid;gap:.25rem;font-weight:600}
form.stack label:has(> input[type=checkbox]){display:flex;gap:.6rem;align-items:center;font-weight:400}
fieldset{border:1px solid var(--line);border-radius:.5rem;display:grid;gap:.6rem;padding:.75rem 1rem;background:var(--card)}legend{font-weight:700;padding:0 .3rem}
form.stack input,form.stack textarea,form.stack select{font:inherit;padding:.5rem;border:1px solid #b9bfcc;border-radius:.4rem;font-weight:400}
.hint{font-weight:400;color:var(--muted);font-size:.9rem}
.error{color:var(--danger);font-weight:600}.ok{color:var(--ok);font-weight:600}
progress{width:100%;height:1.1rem}
audio,video{width:100%;max-width:48rem;margin:.5rem 0;background:#000;border-radius:.4rem}audio{background:none}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;word-break:break-all}
table{border-collapse:collapse;width:100%;background:var(--card)}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line)}
footer.site{color:var(--muted);text-align:center;padding:2rem 1rem;font-size:.85rem}
@media (max-width:40rem){h1{font-size:1.45rem}header.site form{min-width:100%}}
`);

/** The page frame shared by the portal and dashboards: landmarks, skip link, search. */
export function page(opts: PageOptions, body: Html): string {
  const v = opts.viewer;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · Swarmcast</title>
<style>${css}</style>
${opts.head}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site"><div class="bar">
<a class="brand" href="/">Swarmcast</a>
<form role="search" action="/search" method="get">
<label for="site-q" class="skip">Search shows and episodes</label>
<input id="site-q" type="search" name="q" placeholder="Search shows and episodes" value="${opts.query ?? ''}">
<button type="submit">Search</button>
</form>
<nav aria-label="Account"><ul>
${
  v
    ? html`<li><a href="/dashboard">Dashboard</a></li><li><form method="post" action="/logout" style="display:inline"><button class="secondary" type="submit">Log out ${v.name}</button></form></li>`
    : html`<li><a href="/login">Log in</a></li><li><a href="/signup">Sign up</a></li>`
}
</ul></nav>
</div></header>
<main id="main">
${body}
</main>
<footer class="site">Swarmcast: every episode on BitTorrent and plain HTTP.</footer>
</body>
</html>`.value;
}
