export { siteCss } from './css.ts';
export { formatClock, formatMoney } from './format.ts';
export { escapeHtml, Html, html, raw } from './html.ts';
export {
  faviconSvg,
  messagePage,
  navigationOf,
  type PageOptions,
  page,
  type Viewer,
  type ViewerOf,
  wantsHtml,
} from './layout.ts';
