/** Coded reasons a peer connection closes (each listed in docs/errors.md). */
export const PeerErrorCode = {
  /** The remote handshake names another torrent. */
  infoHashMismatch: 'BT_PEER_WRONG_TORRENT',
  /** We connected to ourselves (same peer id). */
  self: 'BT_PEER_SELF',
  /** No handshake within the handshake timeout. */
  handshakeTimeout: 'BT_PEER_HANDSHAKE_TIMEOUT',
  /** Nothing received for the idle timeout. */
  idle: 'BT_PEER_IDLE',
  /** A message out of order or not negotiated (bitfield late, fast message without BEP 6). */
  protocol: 'BT_PEER_PROTOCOL',
  /** A request outside the piece, or for data while it keeps being refused. */
  badRequest: 'BT_PEER_BAD_REQUEST',
  /** Far more requests than our advertised queue (reqq), or than we would ever serve. */
  requestFlood: 'BT_PEER_FLOOD',
  /** Endless duplicate or pointless haves / suggests. */
  haveFlood: 'BT_PEER_HAVE_FLOOD',
  /** Piece data we never asked for (or of another length than asked). */
  unrequestedData: 'BT_PEER_UNREQUESTED_DATA',
  /** The session closed the connection on purpose (duplicate, enough peers, shutting down). */
  closedByUs: 'BT_PEER_CLOSED',
  /** The peer sent data that failed its hash; it is banned. */
  badData: 'BT_PEER_BAD_DATA',
} as const;
export type PeerErrorCode = (typeof PeerErrorCode)[keyof typeof PeerErrorCode];
