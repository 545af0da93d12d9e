// The public surface of @swarmcast/player (see README.md beside this folder).
export {};
