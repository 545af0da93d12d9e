// The public surface of @swarmcast/web (see README.md beside this folder).
export {};
