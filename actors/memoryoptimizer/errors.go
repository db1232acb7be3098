package memoryoptimizer

import "errors"

// ErrUnexpectedReply means the optimizer answered with a message of the
// wrong type.
var ErrUnexpectedReply = errors.New("memoryoptimizer: unexpected reply")

// ErrBadThreshold means a threshold outside (0, 1].
var ErrBadThreshold = errors.New("memoryoptimizer: threshold must be in (0, 1]")
