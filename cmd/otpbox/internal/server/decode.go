package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

// decode reads the request's JSON body into v: one JSON value, no
// unknown fields, at most max bytes. An empty body is an error unless
// optional is set (v then keeps its zero value).
func decode(w http.ResponseWriter, r *http.Request, max int64, v any, optional bool) *Problem {
	body := http.MaxBytesReader(w, r.Body, max)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) && optional {
			return nil
		}
		return decodeProblem(err, max)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err == nil {
			return problem(http.StatusBadRequest, "malformed_json", "Malformed JSON", "the body holds more than one JSON value")
		}
		return decodeProblem(err, max)
	}
	return nil
}

func decodeProblem(err error, max int64) *Problem {
	var (
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	var netErr net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		// The body did not arrive within BodyTimeout. The error names
		// the sockets: say it in our words.
		return problem(http.StatusRequestTimeout, "request_timeout", "Request timeout",
			"the request's body did not arrive in time")
	case errors.As(err, &netErr):
		return problem(http.StatusBadRequest, "body_read_failed", "Body read failed",
			"the request's body could not be read: the connection failed")
	case errors.As(err, &tooBig):
		return problem(http.StatusRequestEntityTooLarge, "body_too_large", "Request body too large",
			fmt.Sprintf("the body exceeds the node's limit of %d bytes", max))
	case errors.Is(err, io.EOF):
		return problem(http.StatusBadRequest, "malformed_json", "Malformed JSON", "the body is empty; expected a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return problem(http.StatusBadRequest, "malformed_json", "Malformed JSON", err.Error())
	case errors.As(err, &typeErr):
		return problem(http.StatusBadRequest, "malformed_json", "Malformed JSON",
			fmt.Sprintf("field %q: expected %s, got %s", typeErr.Field, typeErr.Type, typeErr.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return problem(http.StatusBadRequest, "unknown_field", "Unknown field", strings.TrimPrefix(err.Error(), "json: "))
	}
	return problem(http.StatusBadRequest, "malformed_json", "Malformed JSON", err.Error())
}
