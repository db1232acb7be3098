package server

import (
	"mime"
	"net"
	"net/http"
	"os"
	"strings"
)

// The browser-safe defaults. A browser lets any web page send requests to
// a node on the user's machine: a form or fetch() to http://127.0.0.1:4000
// (cross-site requests), or a page on the attacker's name that rebinds the
// name to 127.0.0.1 (DNS rebinding). The node refuses both:
//
//   - Host: a request must name the node by one of its own addresses, a
//     loopback name (localhost, *.localhost, 127.0.0.0/8, ::1) or a name of
//     Config.AllowedHosts; 421 misdirected_request otherwise. A rebinding
//     page names the attacker's host.
//   - Origin: a state-changing request (POST, PUT, PATCH, DELETE) that a
//     browser sends from another origin (Sec-Fetch-Site, or an Origin
//     whose host is not the request's Host) is refused with 403
//     cross_origin unless the origin is in Config.AllowedOrigins. Clients
//     that are not browsers send neither header and are not concerned; a
//     console served by the node itself is same-origin.
//   - Content-Type: a JSON body must be sent as application/json (415
//     unsupported_media_type otherwise): a page cannot send that type to
//     another origin without a CORS preflight, which the node grants only
//     to Config.AllowedOrigins.

// hosts decides which Host headers the node answers.
type hosts struct {
	any   bool                // "*" in AllowedHosts
	names map[string]struct{} // lower-case names and IP literals, without port
}

func newHosts(addr, node string, allowed []string) hosts {
	h := hosts{names: make(map[string]struct{})}
	add := func(n string) {
		if n = strings.ToLower(strings.Trim(strings.TrimSpace(n), "[]")); n != "" {
			h.names[n] = struct{}{}
		}
	}
	for _, a := range allowed {
		if strings.TrimSpace(a) == "*" {
			h.any = true
		}
		add(a)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	add(host)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		// Listening on every interface: the node's addresses are those of
		// the machine, and its names the host name and the node's.
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					add(n.IP.String())
				}
			}
		}
		if hn, err := os.Hostname(); err == nil {
			add(hn)
		}
		add(node)
	}
	return h
}

// allows reports whether a request whose Host header is hostport is for
// this node.
func (h *hosts) allows(hostport string) bool {
	if h.any || hostport == "" { // HTTP/1.0 without Host: not a browser
		return true
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	_, ok := h.names[host]
	return ok
}

// origins decides which cross-origin requests the node takes.
type origins struct {
	cop     *http.CrossOriginProtection
	allowed map[string]struct{} // scheme://host[:port], lower case
}

func newOrigins(allowed []string) (origins, error) {
	o := origins{cop: http.NewCrossOriginProtection(), allowed: make(map[string]struct{})}
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(a), "/"))
		if a == "" {
			continue
		}
		if err := o.cop.AddTrustedOrigin(a); err != nil {
			return origins{}, err
		}
		o.allowed[a] = struct{}{}
	}
	return o, nil
}

// corsAllowed reports whether origin may use the API from a browser.
func (o *origins) corsAllowed(origin string) bool {
	_, ok := o.allowed[strings.ToLower(origin)]
	return ok
}

// corsHeaders are the request headers a configured origin may send.
const corsHeaders = "Authorization, Content-Type, Idempotency-Key"

// cors answers a preflight and adds the CORS headers for a configured
// origin. It returns true when it answered r.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	allowed := s.origins.corsAllowed(origin)
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if allowed {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", "Location, Retry-After, WWW-Authenticate")
	}
	if !preflight {
		return false
	}
	if !allowed {
		writeProblem(w, problem(http.StatusForbidden, "cross_origin", "Cross-origin request refused",
			"origin "+origin+" is not in the node's allowed origins (--allowed-origins)"))
		return true
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, DELETE")
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// browserChecks answers r with a problem and returns false when it fails
// the Host or Origin check.
func (s *Server) browserChecks(w http.ResponseWriter, r *http.Request, route string) bool {
	if route != "GET /v1/health/live" && route != "GET /v1/health/ready" && !s.hosts.allows(r.Host) {
		writeProblem(w, problem(http.StatusMisdirectedRequest, "misdirected_request", "Misdirected request",
			"this node does not answer for the host named in the request; add it to --allowed-hosts if it is this node's name"))
		return false
	}
	if s.cors(w, r) {
		return false
	}
	if err := s.origins.cop.Check(r); err != nil {
		writeProblem(w, problem(http.StatusForbidden, "cross_origin", "Cross-origin request refused",
			"a state-changing request from another origin; add the origin to --allowed-origins to allow it"))
		return false
	}
	return true
}

// jsonBody answers a request that carries a body of another type than
// application/json with 415 and returns false.
func jsonBody(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return true
	}
	if r.ContentLength == 0 {
		return true // no body
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && mt == "application/json" {
		return true
	}
	w.Header().Set("Accept-Post", "application/json")
	got := r.Header.Get("Content-Type")
	if got == "" {
		got = "none"
	}
	writeProblem(w, problem(http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported media type",
		"the body must be sent as Content-Type: application/json (got "+got+")"))
	return false
}

// ValidOrigin reports whether s is an origin AllowedOrigins takes:
// scheme://host[:port], no path.
func ValidOrigin(s string) error {
	_, err := newOrigins([]string{s})
	return err
}
