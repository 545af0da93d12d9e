/** HTML escaping for the dashboard: every interpolated value goes through `h`. */
const entity: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function h(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => entity[c]!);
}

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${h(title)}</title><meta name="viewport" content="width=device-width"><style>body{font:15px system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}.ahead{color:#a60}.behind{color:#b00}.on-track{color:#070}</style></head><body>${body}</body></html>`;
}
