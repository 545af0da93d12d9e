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
