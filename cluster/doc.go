// Package cluster is otpbox's cluster layer on top of protoactor's: grain
// placement (a directory of activations) now, and membership and health on
// Consul as the cluster work lands.
package cluster
