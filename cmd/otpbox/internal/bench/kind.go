package bench

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/otpbox/otpbox/api"
)

// Error kinds of failures that carry no problem+json type.
const (
	// KindTimeout is a request that had no answer within its timeout.
	KindTimeout = "timeout"
	// KindConnection is a request that failed below HTTP (refused,
	// reset, …).
	KindConnection = "connection"
	// KindOther is any other failure.
	KindOther = "other"
)

// kindOf names a failed request's kind for the report: the problem
// type of a problem+json answer ("overloaded", "not_found", …),
// "http_<status>" for an error answer without one, else KindTimeout,
// KindConnection or KindOther.
func kindOf(err error) string {
	var ae *api.Error
	if errors.As(err, &ae) {
		if ae.Kind != "" {
			return string(ae.Kind)
		}
		return fmt.Sprintf("http_%d", ae.StatusCode)
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.As(err, &ne):
		return KindConnection
	}
	return KindOther
}
