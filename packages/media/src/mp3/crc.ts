/**
 * CRC-16 with polynomial 0x8005, MSB first, as MPEG audio uses for its optional frame CRC
 * (ISO/IEC 11172-3 2.4.3.1: init 0xFFFF over header bytes 2-3 and the side information).
 */
export function crc16Mpeg(bytes: Uint8Array, start: number, end: number, init = 0xffff): number {
  let crc = init;
  for (let i = start; i < end; i++) {
    crc ^= (bytes[i] as number) << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** CRC-16/ARC (reflected 0x8005, init 0), the LAME tag's "CRC of Info Tag". */
export function crc16Arc(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= bytes[i] as number;
    for (let b = 0; b < 8; b++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}
