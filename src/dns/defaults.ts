// Defaults of the DNS client that the command line shows in its options: a
// module of its own, so defining the options loads no resolver code.

/** The one global cap on DNS queries in flight, unless --concurrency says otherwise. */
export const DEFAULT_CONCURRENCY = 64;
