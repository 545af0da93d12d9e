export {
  decodeExtensionHandshake,
  type ExtensionHandshake,
  encodeExtensionHandshake,
  LOCAL_EXTENSION_IDS,
  MAX_METADATA_SIZE,
} from './extension-handshake.ts';
export { type FetchMetadataOptions, MetadataFetcher } from './fetch-metadata.ts';
export {
  magnetLayerNeeds,
  magnetMetadataCheck,
  magnetWireHash,
  metainfoFromMagnet,
  parsePeerAddress,
} from './magnet-metainfo.ts';
export { type PeerExtensionEvents, PeerExtensions, type PeerExtensionsOptions } from './peer-extensions.ts';
export {
  decodeMetadataMessage,
  encodeMetadataMessage,
  METADATA_PIECE_SIZE,
  MetadataAssembler,
  type MetadataMessage,
  metadataPiece,
  metadataPieceCount,
  metadataReply,
} from './ut-metadata.ts';
export {
  compactAddress,
  decodePex,
  encodePex,
  PEX_INTERVAL_MS,
  PEX_MAX_PER_MESSAGE,
  PexFlag,
  PexInbox,
  type PexMessage,
  PexOutbox,
  type PexPeer,
} from './ut-pex.ts';
