// Types for the `bencode` npm package (it ships none).
declare module 'bencode' {
  const bencode: {
    encode(value: unknown): Uint8Array;
    decode(data: Uint8Array, start?: number, end?: number): unknown;
    byteLength(value: unknown): number;
  };
  export default bencode;
}
