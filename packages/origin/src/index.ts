// The public surface of @swarmcast/origin (see README.md beside this folder).
export {};
