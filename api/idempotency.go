package api

import (
	"context"
	"crypto/rand"
)

// IdempotencyKeyHeader is the header that carries a POST's idempotency
// key.
const IdempotencyKeyHeader = "Idempotency-Key"

type keyContext struct{}

// WithIdempotencyKey returns a context whose calls send key as their
// Idempotency-Key, instead of a random key per call. Use it to retry a
// call yourself (after a lost answer, or across process restarts) so
// that a node that remembers keys applies it once. Each logical call
// needs its own key.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, keyContext{}, key)
}

// idempotencyKey returns ctx's key, or a new random one (at least 128
// random bits, base32).
func idempotencyKey(ctx context.Context) string {
	if k, ok := ctx.Value(keyContext{}).(string); ok && k != "" {
		return k
	}
	return rand.Text()
}
