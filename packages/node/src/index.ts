// The public surface of @swarmcast/node (see README.md beside this folder): the one place
// that wires the parts into a node and its roles. The CLI starts nodes through it.

export { type LogLevel, logLevels, parseTime } from '@swarmcast/web';
export {
  type RingEntry,
  readSigningKeys,
  ringAt,
  rotateSigningKey,
  signingKeyFile,
} from './key-ring.ts';
export { type NodeOptions, type RunningNode, startNode } from './node.ts';
export { type NodeRole, nodeRoles, parseRoles, roleDuties } from './roles.ts';
export { adminTokenFile } from './secrets.ts';
