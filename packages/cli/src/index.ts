// The public surface of @swarmcast/cli (see README.md beside this folder).
export {};
