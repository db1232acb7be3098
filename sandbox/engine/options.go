package engine

import "go.starlark.net/starlark"

// Option configures a [Session].
type Option func(*Session)

// WithEnv makes the session predeclare env's builtins. Sessions without
// it share a default Env with the sandbox builtins only.
func WithEnv(env *Env) Option {
	return func(s *Session) { s.env = env }
}

// WithBuiltins predeclares extra on top of the session's Env so far (the
// default one, or the one given by an earlier [WithEnv]). It builds an Env
// of the session's own, about 3 KiB: for builtins shared by many sessions,
// build one Env and pass per-session state with [WithLocal] instead.
// It panics if [Env.With] fails: builtins are fixed by the program.
func WithBuiltins(extra starlark.StringDict) Option {
	return func(s *Session) {
		env, err := s.env.With(extra)
		if err != nil {
			panic(err)
		}
		s.env = env
	}
}

// WithLocal sets a thread-local value on every thread the session
// executes on, so that builtins shared through an Env can find their
// per-session state with thread.Local(key).
func WithLocal(key string, value any) Option {
	return func(s *Session) { s.locals = append(s.locals, local{key, value}) }
}

// WithCompileCache makes the session look up and store compiled programs
// in c instead of the process-wide default [LRU] of [DefaultCacheSize]
// programs.
func WithCompileCache(c CompileCache) Option {
	return func(s *Session) { s.cache = c }
}

// WithWorld makes w part of every execution's transaction; see [World].
func WithWorld(w World) Option {
	return func(s *Session) { s.world = w }
}

type local struct {
	key   string
	value any
}
