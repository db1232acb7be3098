// Package buildinfo identifies the running otpbox binary.
package buildinfo
