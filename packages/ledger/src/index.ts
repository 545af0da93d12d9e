// The public surface of @swarmcast/ledger (see README.md beside this folder).
export {};
