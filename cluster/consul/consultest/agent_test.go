package consultest_test

import (
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/otpbox/otpbox/cluster/consul/consultest"
	"github.com/otpbox/otpbox/testkit"
	"go.uber.org/goleak"
)

func TestAgentRestartLosesRegistrations(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { testkit.VerifyNoLeaks(t, ignore) })

	a := consultest.Start(t)
	agent := a.Client().Agent()
	if err := agent.ServiceRegister(&api.AgentServiceRegistration{ID: "n1", Name: "svc"}); err != nil {
		t.Fatalf("register: %v", err)
	}
	services, err := agent.Services()
	if err != nil || services["n1"] == nil {
		t.Fatalf("services = %v, %v; want n1", services, err)
	}

	a.Restart()
	services, err = a.Client().Agent().Services()
	if err != nil {
		t.Fatalf("services after restart: %v", err)
	}
	if services["n1"] != nil {
		t.Errorf("n1 survived the restart of a dev agent")
	}
	leader, err := a.Client().Status().Leader()
	if err != nil || leader == "" {
		t.Errorf("leader after restart = %q, %v", leader, err)
	}

	a.Stop()
	if _, err := a.Client().Status().Leader(); err == nil {
		t.Errorf("the agent still answers after Stop")
	}
	a.Stop() // idempotent
}
