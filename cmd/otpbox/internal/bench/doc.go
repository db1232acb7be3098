// Package bench is the node's load test as a tool, in two models.
//
// Run is the design's closed loop: at each concurrency level, workers run
// requests (create a sandbox, execute "1 + 1", terminate it) back to
// back, and the level reports requests, errors, latency percentiles and
// throughput.
//
// RunOpen is an open model: a number of users, each with its own
// sandbox, execute a small statement at a fixed aggregate rate whatever
// the latency, as wrk2 and vegeta load a server. Latency runs from each
// request's scheduled send time, so a stall shows in every request it
// delayed (no coordinated omission); percentiles come from an HDR
// histogram (3 significant digits). A sweep of rates reports the knee:
// the highest rate whose p99 stays within KneeP99 without errors.
package bench
