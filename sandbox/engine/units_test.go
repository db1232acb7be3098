package engine_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otpbox/otpbox/sandbox/engine"
)

func TestLimitsJSONUnits(t *testing.T) {
	tests := []struct {
		in   string
		want engine.Limits
		err  string
	}{
		{`{"max_steps": 1000, "max_duration": 2000000000, "max_heap_bytes": 65536}`, engine.Limits{MaxSteps: 1000, MaxDuration: 2 * time.Second, MaxHeapBytes: 65536}, ""},
		{`{"max_duration": "250ms", "max_heap_bytes": "1MiB", "max_code_bytes": "64KiB", "max_output_bytes": "1 kB"}`,
			engine.Limits{MaxDuration: 250 * time.Millisecond, MaxHeapBytes: 1 << 20, MaxCodeBytes: 64 << 10, MaxOutputBytes: 1000}, ""},
		{`{"max_duration": "5"}`, engine.Limits{MaxDuration: 5}, ""},
		{`{}`, engine.Limits{}, ""},
		{`{"max_duration": "soon"}`, engine.Limits{}, `max_duration: want nanoseconds or a duration such as "5s", got "soon"`},
		{`{"max_heap_bytes": "lots"}`, engine.Limits{}, `max_heap_bytes: want a size`},
		{`{"max_steps": "many"}`, engine.Limits{}, `max_steps`},
		{`{"max_globals": 1e12}`, engine.Limits{}, `max_globals`},
		{`{"max_stepz": 1}`, engine.Limits{}, `unknown field "max_stepz"`},
	}
	for _, tt := range tests {
		var got engine.Limits
		err := json.Unmarshal([]byte(tt.in), &got)
		if tt.err != "" {
			require.Error(t, err, tt.in)
			assert.Contains(t, err.Error(), tt.err)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		// Written back in base units, read back the same.
		raw, err := json.Marshal(got)
		require.NoError(t, err)
		var again engine.Limits
		require.NoError(t, json.Unmarshal(raw, &again))
		assert.Equal(t, got, again)
	}
}
