// The bencode package ships no types; this covers the part the tracker uses.
declare module 'bencode' {
  const bencode: {
    encode(data: unknown): Uint8Array;
    decode(data: Uint8Array, encoding?: string): unknown;
  };
  export default bencode;
}
