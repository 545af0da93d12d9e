// The public surface of @swarmcast/measure (see README.md beside this folder).
export {};
