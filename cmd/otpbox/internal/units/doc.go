// Package units parses and prints the human units of the command line
// and the configuration: sizes ("64MiB", "1GB", "512"), CPU in
// millicores ("500m", "250") and durations ("2s", "1m30s").
package units
