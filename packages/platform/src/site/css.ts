/**
 * The site's one stylesheet: a small design system of our own (colour tokens, type scale,
 * buttons, forms, cards, tables, badges, alerts, bar charts). Every page of the node (portal,
 * creator dashboard, reports, advertiser dashboard, admin) is drawn with these classes and
 * nothing else, so one change here changes the whole site. It is inlined into each page
 * (about 6 KB: no extra request on the portal's first paint).
 *
 * Colours meet WCAG AA contrast on their backgrounds (text 4.5:1, large text and UI 3:1).
 */
export const siteCss = `
:root{--fg:#1d2330;--muted:#4f5868;--bg:#f6f7fb;--card:#fff;--line:#dfe3ec;--accent:#3343b8;--accent-fg:#fff;
--accent-soft:#e8ebfb;--danger:#a8231b;--danger-soft:#fdecea;--ok:#1b6e37;--ok-soft:#e6f4ea;--warn:#7a4a00;--warn-soft:#fff4d6;
--radius:.55rem;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);line-height:1.5}
*{box-sizing:border-box}body{margin:0;overflow-wrap:anywhere}[hidden]{display:none!important}
a{color:var(--accent)}img{max-width:100%}
:focus-visible{outline:3px solid #d98a00;outline-offset:2px}
.skip,.sr-only{position:absolute;left:-9999px;width:1px;height:1px;overflow:hidden}
.skip:focus{left:1rem;top:1rem;width:auto;height:auto;background:#fff;color:var(--fg);padding:.5rem;z-index:9}
header.site{background:#151a2d;color:#fff}
header.site .bar{max-width:72rem;margin:0 auto;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.6rem 1.25rem;align-items:center}
header.site a{color:#fff;text-decoration:none}header.site a:hover{text-decoration:underline}
.brand{font-weight:700;font-size:1.2rem;letter-spacing:.02em;display:inline-flex;gap:.45rem;align-items:center}
.brand svg{width:1.6rem;height:1.6rem}
header.site form.search{flex:1;min-width:12rem;display:flex;gap:.4rem}
header.site input[type=search]{flex:1;min-width:0;padding:.45rem .6rem;border-radius:.4rem;border:0;font:inherit}
header.site nav ul{display:flex;gap:.35rem 1rem;list-style:none;margin:0;padding:0;flex-wrap:wrap;align-items:center}
header.site nav a[aria-current=page]{text-decoration:underline;text-underline-offset:.3em;text-decoration-thickness:2px}
header.site nav form{display:inline}
main{max-width:72rem;margin:0 auto;padding:1.25rem 1rem 3rem}
h1{font-size:1.75rem;line-height:1.25;margin:.2rem 0 1rem}h2{font-size:1.3rem;margin:1.75rem 0 .75rem}h3{font-size:1.05rem;margin:1rem 0 .4rem}
.crumbs{font-size:.9rem;margin:0 0 .4rem}.crumbs a{color:var(--muted)}
.lead{font-size:1.05rem;color:var(--muted);margin-top:-.5rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:1rem;list-style:none;padding:0;margin:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:1rem}
.card h3{margin:0 0 .3rem;font-size:1.05rem}.meta{color:var(--muted);font-size:.9rem}
.card.media{display:flex;gap:.8rem;align-items:flex-start}.card.media img,.art{border-radius:.4rem;flex:none;background:var(--line)}
.list{list-style:none;padding:0;margin:0}.list li{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:.75rem 1rem;margin-bottom:.5rem}
.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}.spread{justify-content:space-between}
button,.button{background:var(--accent);color:var(--accent-fg);border:1px solid transparent;border-radius:.4rem;padding:.5rem 1rem;font:inherit;cursor:pointer;text-decoration:none;display:inline-block;line-height:1.3}
button:hover,.button:hover{filter:brightness(1.1)}button:disabled{opacity:.55;cursor:not-allowed}
button.secondary,.button.secondary{background:#e7e9f3;color:var(--fg)}
button.danger,.button.danger{background:var(--danger);color:#fff}
button.small,.button.small{padding:.25rem .6rem;font-size:.9rem}
button.link{background:none;border:0;color:inherit;padding:0;text-decoration:underline}
form.stack{display:grid;grid-template-columns:minmax(0,1fr);gap:.8rem;max-width:36rem}
form.stack label,.field{display:grid;grid-template-columns:minmax(0,1fr);gap:.25rem;font-weight:600}
form.stack label:has(> input[type=checkbox]),form.stack label:has(> input[type=radio]){display:flex;gap:.6rem;align-items:center;font-weight:400}
fieldset{border:1px solid var(--line);border-radius:var(--radius);display:grid;gap:.6rem;padding:.75rem 1rem;background:var(--card);min-width:0}
legend{font-weight:700;padding:0 .3rem}
input,textarea,select{font:inherit;max-width:100%}
form.stack input:not([type=checkbox]):not([type=radio]),form.stack textarea,form.stack select{padding:.5rem;border:1px solid #8d94a3;border-radius:.4rem;font-weight:400;background:#fff;color:var(--fg)}
[aria-invalid=true]{border-color:var(--danger)!important;box-shadow:0 0 0 1px var(--danger)}
.hint{font-weight:400;color:var(--muted);font-size:.9rem}
.field-error{color:var(--danger);font-weight:600;font-size:.92rem}
.error{color:var(--danger);font-weight:600}.ok{color:var(--ok);font-weight:600}
.alert{border-radius:var(--radius);padding:.75rem 1rem;margin:0 0 1rem;border:1px solid}
.alert.error{background:var(--danger-soft);border-color:#f3b8b3}.alert.ok{background:var(--ok-soft);border-color:#a8d5b5;color:var(--ok)}
.alert.warn{background:var(--warn-soft);border-color:#f0d38a;color:var(--warn);font-weight:400}.alert.info{background:var(--accent-soft);border-color:#c3c9f3}
.badge{display:inline-block;border-radius:99rem;padding:.05rem .55rem;font-size:.82rem;font-weight:600;background:#e7e9f3;color:var(--fg);white-space:nowrap}
.badge.ok{background:var(--ok-soft);color:var(--ok)}.badge.warn{background:var(--warn-soft);color:var(--warn)}.badge.danger{background:var(--danger-soft);color:var(--danger)}
.checklist{list-style:none;padding:0;margin:0}.checklist li{padding:.2rem 0}.checklist li::before{content:"✔ ";color:var(--ok)}.checklist li.missing::before{content:"✖ ";color:var(--danger)}
progress{width:100%;height:1.1rem}
audio,video{width:100%;max-width:48rem;margin:.5rem 0;background:#000;border-radius:.4rem}audio{background:none}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;word-break:break-all}
details.advanced{margin:1rem 0;background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:.5rem 1rem}
details.advanced summary{cursor:pointer;font-weight:600}
.table-wrap{overflow-x:auto;max-width:100%;margin:.5rem 0 1.25rem;border:1px solid var(--line);border-radius:var(--radius);background:var(--card)}
table{border-collapse:collapse;width:100%;background:var(--card)}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.88rem;color:var(--muted);font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(9.5rem,1fr));gap:.75rem;margin:0 0 1rem;padding:0;list-style:none}
.stats li{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:.7rem .9rem}
.stats b{display:block;font-size:1.4rem;font-variant-numeric:tabular-nums}.stats span{color:var(--muted);font-size:.88rem}
figure.bars{margin:.5rem 0 1.5rem;background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:.75rem}
figure.bars figcaption{font-weight:600;margin-bottom:.5rem}
.bars .plot{display:flex;align-items:flex-end;gap:2px;height:9rem;border-bottom:1px solid #8d94a3}
.bars .plot span{flex:1;min-width:2px;background:var(--accent);border-radius:2px 2px 0 0}
.bars .plot span.gap{background:repeating-linear-gradient(45deg,#d6dae4 0 3px,transparent 3px 6px);height:100%}
.bars .axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.8rem;margin-top:.25rem}
.sc-player{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:.75rem;margin:.75rem 0;max-width:50rem}
.sc-ad-bar{display:flex;flex-wrap:wrap;gap:.5rem .75rem;align-items:center;background:#fff4d6;border:1px solid #f0d38a;border-radius:.4rem;padding:.5rem .75rem;margin:.25rem 0}
.sc-ad-badge{background:#7a4a00;color:#fff;font-weight:700;font-size:.8rem;border-radius:.3rem;padding:.05rem .4rem}
.sc-ad-label{font-weight:600;font-variant-numeric:tabular-nums}.sc-ad-progress{flex:1 1 8rem;height:.6rem;width:auto}
.sc-skip{background:#151a2d;color:#fff}.sc-click{font-weight:600;color:#5a3600}
.sc-controls{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.35rem 0}
.sc-controls button{background:#e7e9f3;color:var(--fg);padding:.35rem .7rem;font-variant-numeric:tabular-nums}
.sc-speed{display:inline-flex;gap:.35rem;align-items:center;font-size:.92rem}.sc-speed select{padding:.3rem;border:1px solid #8d94a3;border-radius:.4rem;background:#fff}
.sc-peers{display:flex;flex-wrap:wrap;gap:.3rem .6rem;align-items:center;font-size:.9rem;color:var(--muted)}
.sc-p2p-dot{width:.7rem;height:.7rem;border-radius:50%;background:#8d94a3;flex:none}
.sc-peers[data-state=peers] .sc-p2p-dot{background:#1b9e4b;box-shadow:0 0 0 3px #c9ecd5}.sc-peers[data-state=waiting] .sc-p2p-dot{background:#d98a00}
.sc-p2p-meter{width:6rem;height:.6rem}.sc-companion{margin:.4rem 0}
ol.chapters{padding-left:1.4rem}ol.chapters button{text-align:left;padding:.15rem 0;color:var(--accent)}
footer.site{color:var(--muted);text-align:center;padding:2rem 1rem;font-size:.85rem}
table td,table th{overflow-wrap:normal}
.bars .empty{margin:auto;color:var(--muted);font-size:.9rem;align-self:center}
@media (max-width:40rem){h1{font-size:1.4rem}header.site form.search{min-width:100%;order:3}main{padding:1rem .75rem 2.5rem}
.sc-p2p-text{flex:1 1 12rem;min-width:0}
table.stack-sm thead{position:absolute;left:-9999px}table.stack-sm,table.stack-sm tbody,table.stack-sm tfoot,table.stack-sm tr{display:block}
table.stack-sm tr{border-bottom:2px solid var(--line);padding:.3rem 0}
table.stack-sm td,table.stack-sm tfoot th{display:flex;justify-content:space-between;gap:1rem;border:0;padding:.2rem .6rem;text-align:right}
table.stack-sm td::before{content:attr(data-label);font-weight:600;color:var(--muted);text-align:left}
table.stack-sm td:first-child{display:block;text-align:left;font-weight:600}table.stack-sm td:first-child::before{content:none}
table.stack-sm td:empty{display:none}}
`;
