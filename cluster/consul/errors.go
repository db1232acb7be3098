package consul

import "errors"

var (
	// ErrStarted is returned by Start, StartMember and StartClient when the
	// provider was already started.
	ErrStarted = errors.New("consul: provider already started")
	// ErrStopped is returned by Start, StartMember and StartClient after
	// Stop or Shutdown: a provider runs once.
	ErrStopped = errors.New("consul: provider stopped")
	// ErrAddress is returned by Start and StartMember when the member's
	// address is not host:port with a numeric port.
	ErrAddress = errors.New("consul: member address is not host:port")
)
