// @dailymotion/vmap ships no types; vmap-read.ts reads its parsed tree defensively.
declare module '@dailymotion/vmap' {
  const VMAP: new (xml: unknown) => { version?: string; adBreaks?: unknown[] };
  export default VMAP;
}
