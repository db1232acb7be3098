package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"

	"github.com/otpbox/otpbox/sandbox"
)

// Sources are the layers of configuration above DefaultConfig, lowest
// first. Every layer may set any key to any valid value, zero included:
// a key the file sets to 1GiB is 0 after --memory-limit 0. A layer that
// does not name a key leaves it to the layers below.
type Sources struct {
	// File is a JSON configuration file ("": none). Its keys are the
	// JSON keys of Config; an unknown key is an error; null leaves a key
	// to the layers below.
	File string
	// Getenv reads the OTPBOX_* variables (nil: none). An empty variable
	// counts as unset.
	Getenv func(string) string
	// Flags is a flag set on which RegisterFlags registered the node's
	// flags, parsed; only the flags given on the command line count.
	Flags *pflag.FlagSet
}

// RegisterFlags adds a flag for every setting to fs (--http,
// --memory-limit, …), with the defaults in their help. Pass fs, parsed,
// as Sources.Flags.
func RegisterFlags(fs *pflag.FlagSet) {
	def := DefaultConfig()
	for _, s := range settings {
		v := s.field(&def)
		f := fs.VarPF(v, s.flag, "", s.help+"; env "+s.env)
		if _, ok := v.(*Bool); ok {
			f.NoOptDefVal = "true" // --l3-cache-enabled alone means true
		}
	}
}

// Load layers the configuration: DefaultConfig, the file, the
// environment, the flags. It reports the first invalid value with the
// layer it came from; it does not Validate the result.
func Load(src Sources) (Config, error) {
	k := koanf.New(".")
	if src.File != "" {
		m, err := readFile(src.File)
		if err != nil {
			return Config{}, err
		}
		if err := k.Load(confmap.Provider(m, ""), nil); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", src.File, err)
		}
	}
	if src.Getenv != nil {
		m, err := readEnv(src.Getenv)
		if err != nil {
			return Config{}, err
		}
		if err := k.Load(confmap.Provider(m, ""), nil); err != nil {
			return Config{}, err
		}
	}
	if src.Flags != nil {
		// Only the flags given count: a flag's default is not a layer.
		given := posflag.ProviderWithFlag(src.Flags, ".", nil, func(f *pflag.Flag) (string, any) {
			if !f.Changed {
				return "", nil
			}
			s, ok := byFlag[f.Name]
			if !ok {
				return "", nil
			}
			return s.json, f.Value.String()
		})
		if err := k.Load(given, nil); err != nil {
			return Config{}, err
		}
	}
	cfg := DefaultConfig()
	if src.File != "" {
		p, err := readPolicy(src.File)
		if err != nil {
			return Config{}, err
		}
		cfg.Sandbox = p
	}
	for _, s := range settings {
		if !k.Exists(s.json) {
			continue
		}
		v := k.String(s.json)
		if err := s.field(&cfg).Set(v); err != nil { // checked per layer already
			return Config{}, &ConfigError{Field: s.json, Value: v, Err: err}
		}
	}
	return cfg, nil
}

var (
	byFlag = make(map[string]setting, len(settings))
	byKey  = make(map[string]setting, len(settings))
)

func init() {
	for _, s := range settings {
		byFlag[s.flag], byKey[s.json] = s, s
	}
}

// readEnv returns the value of every OTPBOX_* variable that is set,
// by JSON key, each checked.
func readEnv(getenv func(string) string) (map[string]any, error) {
	m := make(map[string]any)
	for _, s := range settings {
		v := getenv(s.env)
		if v == "" {
			continue
		}
		var scratch Config
		if err := s.field(&scratch).Set(v); err != nil {
			return nil, &ConfigError{Field: s.env, Value: v, Err: err}
		}
		m[s.json] = v
	}
	return m, nil
}

// ErrUnknownKey reports a configuration file key that names no setting.
var ErrUnknownKey = errors.New("node: unknown configuration key")

// readFile reads a JSON configuration file into its keys' values as
// strings, each checked. Numbers keep their text (no float rounding);
// durations must be strings with a unit.
func readFile(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("parse config %s: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("parse config %s: more than one JSON value", path)
	}
	m := make(map[string]any, len(raw))
	for _, key := range slices.Sorted(maps.Keys(raw)) {
		if key == policyKey {
			continue // an object: see readPolicy
		}
		s, ok := byKey[key]
		if !ok {
			return nil, fmt.Errorf("parse config %s: %w %q (known keys are the JSON keys of docs/configuration.md)", path, ErrUnknownKey, key)
		}
		var v string
		switch x := raw[key].(type) {
		case nil:
			continue // null: leave the key to the layers below
		case string:
			v = x
		case bool:
			v = strconv.FormatBool(x)
		case []any:
			if _, list := s.field(&Config{}).(*List); !list {
				return nil, &ConfigError{Field: path + ": " + key, Value: fmt.Sprint(x), Err: fmt.Errorf("%w: not a string, number or boolean", ErrInvalid)}
			}
			items := make([]string, 0, len(x))
			for _, it := range x {
				str, ok := it.(string)
				if !ok || strings.Contains(str, ",") {
					return nil, &ConfigError{Field: path + ": " + key, Value: fmt.Sprint(x), Err: fmt.Errorf("%w: a list of strings without commas", ErrInvalid)}
				}
				items = append(items, str)
			}
			v = strings.Join(items, ",")
		case json.Number:
			if _, dur := s.field(&Config{}).(*Duration); dur {
				return nil, &ConfigError{Field: path + ": " + key, Value: x.String(),
					Err: fmt.Errorf("%w: a duration is a string with its unit, such as \"30s\"", ErrInvalid)}
			}
			v = x.String()
		default:
			return nil, &ConfigError{Field: path + ": " + key, Value: fmt.Sprint(x), Err: fmt.Errorf("%w: not a string, number or boolean", ErrInvalid)}
		}
		var scratch Config
		if err := s.field(&scratch).Set(v); err != nil {
			return nil, &ConfigError{Field: path + ": " + key, Value: v, Err: err}
		}
		if _, isBool := s.field(&scratch).(*Bool); isBool && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			if _, ok := raw[key].(bool); !ok {
				return nil, &ConfigError{Field: path + ": " + key, Value: v, Err: fmt.Errorf("%w: want true or false", ErrInvalid)}
			}
		}
		m[key] = v
	}
	return m, nil
}

// policyKey is the configuration file's key of Config.Sandbox, an object
// shaped like sandbox.Policy: {"defaults": {...}, "ceilings": {...}}.
const policyKey = "sandbox"

// readPolicy reads the sandbox policy of a configuration file (zero when
// it has none); unknown keys in it are errors.
func readPolicy(path string) (sandbox.Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return sandbox.Policy{}, fmt.Errorf("read config: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return sandbox.Policy{}, fmt.Errorf("parse config %s: %w", path, err)
	}
	var p sandbox.Policy
	if v, ok := raw[policyKey]; ok && string(v) != "null" {
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return sandbox.Policy{}, &ConfigError{Field: path + ": " + policyKey, Value: string(v), Err: fmt.Errorf("%w: %v", ErrInvalid, err)}
		}
	}
	return p, nil
}
