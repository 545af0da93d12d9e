// The public surface of @swarmcast/web (see README.md beside this folder).
export { escapeHtml, Html, html, raw } from './html.ts';
export { createNodeServer, type NodeServerOptions } from './server.ts';
