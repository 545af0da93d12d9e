// @dailymotion/vmap ships no types; the tests read its parsed tree dynamically.
declare module '@dailymotion/vmap' {
  // biome-ignore lint/suspicious/noExplicitAny: third-party parser output, checked by the assertions
  const VMAP: new (xml: unknown) => any;
  export default VMAP;
}
