export { type WireDecoded, WireDecoder, type WireDecoderOptions } from './decoder.ts';
export { encode, encodedLength, encodeInto, encodePieceHeader } from './encode.ts';
export { decodeHandshake, encodeHandshake, type HandshakeOptions, PROTOCOL_HEADER } from './handshake.ts';
export { MessageWriter } from './message-writer.ts';
export * from './messages.ts';
export { type WireDecodeError, WireErrorCode } from './wire-errors.ts';
