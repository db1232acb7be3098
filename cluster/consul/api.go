package consul

import "github.com/hashicorp/consul/api"

// agentAPI is the part of the local agent's API the provider calls. With
// ACLs enabled its token needs service:write on the cluster's service name.
type agentAPI interface {
	ServiceRegisterOpts(s *api.AgentServiceRegistration, opts api.ServiceRegisterOpts) error
	ServiceDeregisterOpts(serviceID string, q *api.QueryOptions) error
	UpdateTTLOpts(checkID, output, status string, q *api.QueryOptions) error
}

// healthAPI is the part of the health API the watch calls (blocking
// queries). With ACLs enabled its token needs service:read on the cluster's
// service name and node:read.
type healthAPI interface {
	Service(service, tag string, passingOnly bool, q *api.QueryOptions) ([]*api.ServiceEntry, *api.QueryMeta, error)
}

var (
	_ agentAPI  = (*api.Agent)(nil)
	_ healthAPI = (*api.Health)(nil)
)
