// The state dir cannot be used (another fleet's, another format, cannot be opened). A
// module of its own so the CLI can recognise it without loading lmdb (persist/store.ts)
// in a fleet that runs without --state-dir.
export class StateDirError extends Error {}
