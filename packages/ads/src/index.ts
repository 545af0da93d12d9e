// The public surface of @swarmcast/ads (see README.md beside this folder).
export {};
