// The public surface of @swarmcast/bittorrent (see README.md beside this folder).
export {};
