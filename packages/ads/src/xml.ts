/** XML text and attribute escaping (the five predefined entities; control characters dropped). */
const entity: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

export function xmlEscape(s: string): string {
  // Characters XML 1.0 forbids outright are removed rather than escaped (they cannot be).
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[&<>"']/g, (c) => entity[c]!);
}
