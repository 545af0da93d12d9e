// The public surface of @swarmcast/web (see README.md beside this folder).

export { sessionCookie, whoIs } from './auth.ts';
export { adminRoutes } from './dashboard/admin-routes.ts';
export { parseTime } from './dashboard/form.ts';
export {
  processSharedState,
  redisSharedState,
  type SharedState,
} from './node/shared-state.ts';
export { refuseTakenDownMedia } from './node/takedowns.ts';
export { ReadCache } from './portal/read-cache.ts';
export { createNodeServer, type LogLevel, logLevels, type NodeServerOptions } from './server.ts';
export { type SiteUrls, siteUrls } from './urls.ts';
