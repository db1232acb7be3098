package node_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/otpbox/otpbox/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, testkit.LeakOptions()...) }
