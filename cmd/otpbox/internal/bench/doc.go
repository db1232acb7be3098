// Package bench is the design's performance test as a tool: at each
// concurrency level, workers run requests (create a sandbox, execute
// "1 + 1", terminate it) and the level reports requests, errors, latency
// percentiles and throughput.
package bench
