// The public surface of @swarmcast/tracker (see README.md beside this folder).
export {};
