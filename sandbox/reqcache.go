package sandbox

import (
	"encoding/json"
	"sync"
	"time"
)

// Requirements are read with human units, strictly (UnmarshalJSON): about
// 30 µs each, a tenth of a create, though nearly every sandbox of a node
// has the same ones. The grains read them through reqCache, which keeps
// the last requirements read by their JSON.
var reqCache = requirementsCache{m: make(map[string]Requirements)}

// reqCacheSize bounds reqCache: past it, it starts afresh. Only
// requirements of at most reqCacheMaxJSON bytes of JSON are kept (the
// canonical form the manager sends is a few hundred).
const (
	reqCacheSize    = 256
	reqCacheMaxJSON = 2 << 10
)

type requirementsCache struct {
	mu sync.Mutex
	m  map[string]Requirements
}

// decode reads raw as Requirements.
func (c *requirementsCache) decode(raw []byte) (Requirements, error) {
	c.mu.Lock()
	r, ok := c.m[string(raw)]
	c.mu.Unlock()
	if ok {
		return r, nil
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return Requirements{}, err
	}
	if len(raw) > reqCacheMaxJSON {
		return r, nil
	}
	c.mu.Lock()
	if len(c.m) >= reqCacheSize {
		clear(c.m)
	}
	c.m[string(raw)] = r
	c.mu.Unlock()
	return r, nil
}

// field reads a requirements field of a larger document: absent or null
// is the zero Requirements, as encoding/json leaves it.
func (c *requirementsCache) field(raw json.RawMessage) (Requirements, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return Requirements{}, nil
	}
	return c.decode(raw)
}

// decodeMeta reads a sandbox's metadata, its requirements through
// reqCache.
func decodeMeta(raw []byte) (meta, error) {
	var m struct {
		Requirements json.RawMessage `json:"requirements"`
		CreatedAt    time.Time       `json:"created_at"`
		CreateKey    *idemKey        `json:"create_key"`
		RestartKeys  []idemKey       `json:"restart_keys"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return meta{}, err
	}
	req, err := reqCache.field(m.Requirements)
	if err != nil {
		return meta{}, err
	}
	return meta{Requirements: req, CreatedAt: m.CreatedAt, CreateKey: m.CreateKey, RestartKeys: m.RestartKeys}, nil
}

// UnmarshalJSON reads an Info, its requirements through reqCache (every
// create and describe answers with one).
func (i *Info) UnmarshalJSON(b []byte) error {
	type plain Info
	var v struct {
		plain
		Requirements json.RawMessage `json:"requirements"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	req, err := reqCache.field(v.Requirements)
	if err != nil {
		return err
	}
	*i = Info(v.plain)
	i.Requirements = req
	return nil
}
