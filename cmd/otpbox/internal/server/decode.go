package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	switch {
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
