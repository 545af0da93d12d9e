export { etagOf, httpDate, notModified, rangeStillValid } from './conditional.ts';
export { contentTypeOf } from './content-type.ts';
export {
  type EnclosureClient,
  type EnclosureOptions,
  type EnclosureResolver,
  enclosurePlugin,
  type PlainEnclosure,
  planEtag,
  type StitchedEnclosure,
} from './enclosure-plugin.ts';
export { type OriginErrorCode, originErrors } from './errors.ts';
export { type FactSink, memoryFactSink, type StreamFactSinkOptions, streamFactSink } from './fact-sink.ts';
export {
  type BodyPart,
  bodySize,
  compactParts,
  partLength,
  readParts,
  SharedFiles,
  sharedFiles,
} from './parts.ts';
export { fileSource, type OriginOptions, originPlugin } from './plugin.ts';
export { decideRange, type RangeDecision } from './range.ts';
export { checkMediaPath, type PathCheck } from './safe-path.ts';
export type { EdgeOptions, ServedSource } from './serve.ts';
