// The public surface of @swarmcast/catalog (see README.md beside this folder).
export {};
