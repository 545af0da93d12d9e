// The bencode package ships no types; this covers the part the tracker uses.
declare module 'bencode' {
  const bencode: {
    encode(data: unknown): Uint8Array;
    decode(data: Uint8Array, encoding?: string): unknown;
  };
  export default bencode;
}

// Dev-only clients used by the tests and the benchmark; typed loosely on purpose.
declare module 'webtorrent';
declare module 'bittorrent-tracker';
declare module 'create-torrent';
