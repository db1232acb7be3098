package cachemanager

import "errors"

// ErrUnexpectedReply means the manager answered with a message of the
// wrong type.
var ErrUnexpectedReply = errors.New("cachemanager: unexpected reply")
