package api_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	goredis "github.com/redis/go-redis/v9"

	"github.com/otpbox/otpbox/cluster"
	"github.com/otpbox/otpbox/cluster/consul"
	"github.com/otpbox/otpbox/sandbox"
	redisstore "github.com/otpbox/otpbox/sandbox/store/redis"
)

// A Go service that does not call a node but is one: it joins the
// cluster through Consul as a member, as `otpbox node --consul … --redis
// …` does, and hosts sandbox grains in its own process. The cluster
// places each new sandbox on a member (maybe this one); a call for a
// sandbox hosted elsewhere goes to its member, and a sandbox of a member
// that died is activated again from its journal in Redis.
//
// It needs a Consul agent and a Redis, so it is compiled, not run; the
// cluster's own tests run members (testkit.StartCluster).
func Example_member() {
	ctx := context.Background()
	system := actor.NewActorSystem()
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()

	// Membership and health through the local Consul agent, under the
	// cluster's name ("otpbox" unless the nodes set --cluster).
	members, err := consul.New(consul.Config{
		Agent:   "127.0.0.1:8500",
		Cluster: "otpbox",
		Node:    "billing-1",
		TTL:     3 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	member, err := sandbox.StartMember(system,
		sandbox.Config{Store: redisstore.New(rdb)}, // the journals all members share
		sandbox.MemberConfig{
			Name:       "otpbox",
			Provider:   members,
			Membership: members,
			Registry:   cluster.NewRedisRegistry(rdb, "otpbox:otpbox:"), // where each sandbox is active
		})
	if err != nil {
		log.Fatal(err)
	}
	defer member.Shutdown() // hands its sandboxes to the other members, then leaves

	info, err := member.Create(ctx, "invoice-7", sandbox.Requirements{})
	if err != nil {
		log.Fatal(err)
	}
	res, err := member.Execute(ctx, "invoice-7", "total = 40 + 2\ntotal")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Node, res.Value)
}
