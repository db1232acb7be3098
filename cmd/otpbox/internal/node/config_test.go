package node_test

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
)

func TestConfigLayers(t *testing.T) {
	file := filepath.Join(t.TempDir(), "otpbox.json")
	if err := os.WriteFile(file, []byte(`{"http":"127.0.0.1:5000","data_dir":"/file","token":"from-file","drain_timeout":"5s","max_body":2048}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := node.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OTPBOX_DATA_DIR": "/env", "OTPBOX_TOKEN": "from-env", "OTPBOX_MAX_BODY": "1MiB"}
	fromEnv, err := node.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	flags := node.Flags(fs)
	if err := fs.Parse([]string{"--token", "from-flag", "--request-timeout", "2s"}); err != nil {
		t.Fatal(err)
	}
	got := node.DefaultConfig().Merge(fromFile).Merge(fromEnv).Merge(*flags)
	want := node.DefaultConfig()
	want.HTTPAddr = "127.0.0.1:5000"                             // file
	want.DrainTimeout = node.Duration{Duration: 5 * time.Second} // file
	want.DataDir = "/env"                                        // env over file
	want.MaxBody = 1 << 20                                       // env over file
	want.Token = "from-flag"                                     // flag over env and file
	want.RequestTimeout = node.Duration{Duration: 2 * time.Second}
	if got != want {
		t.Errorf("layered config =\n %+v\nwant\n %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := node.FromEnv(func(k string) string {
		if k == "OTPBOX_DRAIN_TIMEOUT" {
			return "soon"
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "OTPBOX_DRAIN_TIMEOUT") {
		t.Errorf("bad env duration = %v", err)
	}
	file := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(file, []byte(`{"htpp":"typo"}`), 0o600)
	if _, err := node.LoadFile(file); err == nil || !strings.Contains(err.Error(), "htpp") {
		t.Errorf("unknown field in file = %v", err)
	}
	if _, err := node.LoadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*node.Config)
		want   error // nil: valid
	}{
		{"defaults", func(*node.Config) {}, nil},
		{"admin on localhost", func(c *node.Config) { c.AdminAddr = "localhost:4001" }, nil},
		{"admin on ::1", func(c *node.Config) { c.AdminAddr = "[::1]:4001" }, nil},
		{"admin off", func(c *node.Config) { c.AdminAddr = "off" }, nil},
		{"admin on all interfaces", func(c *node.Config) { c.AdminAddr = ":4001" }, node.ErrNotLoopback},
		{"admin on 0.0.0.0", func(c *node.Config) { c.AdminAddr = "0.0.0.0:4001" }, node.ErrNotLoopback},
		{"admin on a LAN address", func(c *node.Config) { c.AdminAddr = "10.0.0.7:4001" }, node.ErrNotLoopback},
		{"consul", func(c *node.Config) { c.Consul = "127.0.0.1:8500" }, node.ErrNotAvailable},
		{"redis", func(c *node.Config) { c.Redis = "redis://user:pw@127.0.0.1:6379/2" }, nil},
		{"redis not a redis URL", func(c *node.Config) { c.Redis = "http://127.0.0.1:6379" }, node.ErrInvalid},
		{"redis bad db", func(c *node.Config) { c.Redis = "redis://127.0.0.1:6379/x" }, node.ErrInvalid},
		{"zero max body", func(c *node.Config) { c.MaxBody = -1 }, node.ErrInvalid},
		{"bad log level", func(c *node.Config) { c.LogLevel = "loud" }, node.ErrInvalid},
		{"bad log format", func(c *node.Config) { c.LogFormat = "xml" }, node.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := node.DefaultConfig()
			tc.change(&c)
			err := c.Validate()
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Validate = %v, want %v", err, tc.want)
			}
			var ce *node.ConfigError
			if tc.want != nil && !errors.As(err, &ce) {
				t.Errorf("error %v is not a *ConfigError", err)
			}
		})
	}
	bad := node.DefaultConfig()
	bad.HTTPAddr = "no-port"
	if err := bad.Validate(); err == nil {
		t.Error("http address without a port accepted")
	}
}

// TestSettingsMatchJSON checks that every setting names its field's JSON
// key, so the file, the flags and the documentation agree.
func TestSettingsMatchJSON(t *testing.T) {
	b, err := json.Marshal(node.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	_ = json.Unmarshal(b, &keys)
	settings := node.Settings()
	if len(settings) != len(keys) {
		t.Errorf("%d settings for %d config keys", len(settings), len(keys))
	}
	for _, s := range settings {
		if _, ok := keys[s[2]]; !ok {
			t.Errorf("setting %s names JSON key %q, which Config lacks", s[0], s[2])
		}
		if !strings.HasPrefix(s[1], "OTPBOX_") {
			t.Errorf("setting %s has environment variable %q", s[0], s[1])
		}
	}
}

// TestSettingsDocumented checks that the README lists every setting.
func TestSettingsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range node.Settings() {
		row := "| `" + s[0] + "` | `" + s[1] + "` | `" + s[2] + "` |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("README.md lacks the row %s", row)
		}
	}
}
