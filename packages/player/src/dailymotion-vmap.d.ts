// @dailymotion/vmap ships no types; vmap-read.ts reads its parsed tree defensively.
// Kept identical to packages/ads/test/dailymotion-vmap.d.ts: ambient declarations merge
// across the workspace's single type-check program.
declare module '@dailymotion/vmap' {
  // biome-ignore lint/suspicious/noExplicitAny: third-party parser output, checked by the assertions
  const VMAP: new (xml: unknown) => any;
  export default VMAP;
}
