package bench

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- { // 1..100 ms, unsorted
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	l := summarize(10, lat, 3, 2*time.Second, "first")
	want := Level{Concurrency: 10, Requests: 100, Errors: 3, ErrorRate: 0.03, AvgMS: 50.5, P50MS: 50, P99MS: 99, MaxMS: 100,
		ThroughputPerS: 50, FirstError: "first"}
	if l != want {
		t.Errorf("summarize =\n %+v\nwant\n %+v", l, want)
	}
	if empty := summarize(5, nil, 0, time.Second, ""); empty != (Level{Concurrency: 5}) {
		t.Errorf("empty level = %+v", empty)
	}
}
