import { type CodedError, codedError } from '../transport.ts';

/** Coded errors of the wire codec (each listed in docs/errors.md). */
export const WireErrorCode = {
  /** The handshake's protocol string is not "\x13BitTorrent protocol". */
  badHandshake: 'BT_WIRE_BAD_HANDSHAKE',
  /** A length prefix above the decoder's limit (a hostile or broken peer). */
  frameTooLarge: 'BT_WIRE_FRAME_TOO_LARGE',
  /** A message id we do not know. */
  unknownMessage: 'BT_WIRE_UNKNOWN_MESSAGE',
  /** A known message with a payload of the wrong length. */
  badLength: 'BT_WIRE_BAD_LENGTH',
  /** A bitfield of the wrong size for the torrent, or with spare bits set. */
  badBitfield: 'BT_WIRE_BAD_BITFIELD',
  /** A piece index at or beyond the torrent's piece count. */
  indexOutOfRange: 'BT_WIRE_INDEX_OUT_OF_RANGE',
  /** A request for zero bytes or more than 16 KiB. */
  badRequestLength: 'BT_WIRE_BAD_REQUEST_LENGTH',
} as const;
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

/**
 * A decoding failure, returned in place of a message. `fatal` errors leave the stream
 * unframed (nothing after them can be trusted); a non-fatal one skipped exactly one frame.
 */
export interface WireDecodeError {
  readonly type: 'error';
  readonly error: CodedError & { readonly code: WireErrorCode };
  readonly fatal: boolean;
  /** The message id of the offending frame, when there was one. */
  readonly messageId?: number;
}

export function wireError(
  code: WireErrorCode,
  message: string,
  fatal: boolean,
  messageId?: number,
): WireDecodeError {
  const error = codedError(code, message) as WireDecodeError['error'];
  return messageId === undefined
    ? { type: 'error', error, fatal }
    : { type: 'error', error, fatal, messageId };
}
