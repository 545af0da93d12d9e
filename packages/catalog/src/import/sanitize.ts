import sanitizeHtml from 'sanitize-html';

/**
 * Show notes from another host are HTML written by anyone: kept as HTML, but only the
 * tags podcast apps render (Apple lists p, ol, ul, li, a; we add emphasis, headings, br),
 * links only http(s)/mailto and opened with rel="noopener nofollow". Everything else
 * (script, style, iframes, event handlers, javascript: URLs) goes, by sanitize-html's
 * allowlist rather than a blocklist of ours.
 */
export function sanitizeNotes(html: string): string {
  return sanitizeHtml(html, {
    allowedTags: [
      'p',
      'br',
      'a',
      'ul',
      'ol',
      'li',
      'b',
      'strong',
      'i',
      'em',
      'h2',
      'h3',
      'h4',
      'blockquote',
      'code',
      'pre',
    ],
    allowedAttributes: { a: ['href', 'rel'] },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowProtocolRelative: false,
    transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener nofollow' }) },
    disallowedTagsMode: 'discard',
  }).trim();
}

/** The same notes as plain text (search and the plain description). */
export function notesText(html: string): string {
  return sanitizeHtml(
    html.replace(/<\/(p|li|h\d|br)>|<br\s*\/?>/gi, (m) => `${m}\n`),
    {
      allowedTags: [],
      allowedAttributes: {},
    },
  )
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+/g, ' ')
    .replace(/\n\s*\n+/g, '\n')
    .trim();
}
