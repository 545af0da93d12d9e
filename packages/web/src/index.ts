// The public surface of @swarmcast/web (see README.md beside this folder).

export { parseTime } from './dashboard/form.ts';
export {
  type RingEntry,
  readSigningKeys,
  ringAt,
  rotateSigningKey,
  signingKeyFile,
} from './node/key-ring.ts';
export { type NodeRole, nodeRoles, parseRoles, roleDuties } from './node/roles.ts';
export { adminTokenFile } from './node/secrets.ts';
export { type NodeOptions, type RunningNode, startNode } from './node.ts';
export { createNodeServer, type LogLevel, logLevels, type NodeServerOptions } from './server.ts';
export { type SiteUrls, siteUrls } from './urls.ts';
