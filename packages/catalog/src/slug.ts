/** Show slugs are the only user-chosen text that reaches a URL path or a file path. */
export const slugPattern = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

export function isSlug(text: unknown): text is string {
  return typeof text === 'string' && slugPattern.test(text);
}

/** A slug made from a title: lower-case ASCII letters, digits and dashes, at most 64. */
export function slugify(title: string): string {
  const s = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/g, '');
  return s || 'untitled';
}

/**
 * Text from outside as we store it: NFC, without control characters other than tab and
 * newline (PostgreSQL refuses NUL outright, and XML 1.0 forbids most of the rest).
 */
export function cleanText(text: unknown): string {
  return String(text ?? '')
    .normalize('NFC')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f\ufffe\uffff]/g, '')
    .trim();
}
