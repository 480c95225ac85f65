package swift

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Parameter defaults.
const (
	// defaultChunkSize is the size of one segment of a large object and
	// the most a Writer buffers in memory. With Swift's default limit of
	// 1000 segments per manifest it bounds one blob at about 19.5 GiB.
	defaultChunkSize = 20 << 20
	minChunkSize     = 1 << 10
	maxChunkSize     = 5 << 30 // Swift's largest single object
	defaultContainer = "docker-registry"
)

// Params are the driver's parameters, as the registry's
// storage.swift section names them.
type Params struct {
	AuthURL     string
	AuthVersion int // 1, 2 or 3; 0 means "read it from AuthURL"
	Username    string
	Password    string
	Region      string
	Tenant      string // project name (Keystone v2 and v3)
	Domain      string // user and project domain (Keystone v3)
	Container   string
	ChunkSize   int
}

// String never shows the password: Params end up in error messages.
func (p Params) String() string {
	return fmt.Sprintf("swift{authurl=%s user=%s region=%s tenant=%s domain=%s container=%s}",
		p.AuthURL, p.Username, p.Region, p.Tenant, p.Domain, p.Container)
}

// ParseParams reads the registry's storage.swift parameters.
func ParseParams(parameters map[string]any) (Params, error) {
	str := func(k string) string {
		if v, ok := parameters[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	p := Params{
		AuthURL:   str("authurl"),
		Username:  str("username"),
		Password:  str("password"),
		Region:    str("region"),
		Tenant:    str("tenant"),
		Domain:    str("domain"),
		Container: str("container"),
		ChunkSize: defaultChunkSize,
	}
	if p.Container == "" {
		p.Container = defaultContainer
	}
	var err error
	if s := str("authversion"); s != "" {
		if p.AuthVersion, err = strconv.Atoi(s); err != nil || p.AuthVersion < 1 || p.AuthVersion > 3 {
			return Params{}, fmt.Errorf("swift: authversion must be 1, 2 or 3, not %q", s)
		}
	}
	if s := str("chunksize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < minChunkSize || n > maxChunkSize {
			return Params{}, fmt.Errorf("swift: chunksize must be between %d and %d bytes, not %q", minChunkSize, maxChunkSize, s)
		}
		p.ChunkSize = n
	}
	if p.AuthURL == "" || p.Username == "" || p.Password == "" {
		return Params{}, fmt.Errorf("swift: authurl, username and password are required")
	}
	if p.AuthVersion == 0 {
		if p.AuthVersion, err = AuthVersion(p.AuthURL); err != nil {
			return Params{}, err
		}
	}
	if err := CheckContainerName(p.Container); err != nil {
		return Params{}, err
	}
	return p, nil
}

// versionSegment is one path segment naming an identity API version:
// v1, v1.0, v2.0, v3...
var versionSegment = regexp.MustCompile(`^v([123])(\.[0-9]+)?$`)

// AuthVersion reads the identity API version from the path of authURL
// (https://keystone:5000/v3, .../v2.0, https://swift:8080/auth/v1.0).
// ncw/swift would guess from a substring of the whole URL, which a host
// name such as "dev3.example.com" fools; only a path segment counts here,
// the last one that names a version.
func AuthVersion(authURL string) (int, error) {
	u, err := url.Parse(authURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, fmt.Errorf("swift: authurl must be an absolute http or https URL")
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := len(segs) - 1; i >= 0; i-- {
		if m := versionSegment.FindStringSubmatch(segs[i]); m != nil {
			return int(m[1][0] - '0'), nil
		}
	}
	return 0, fmt.Errorf("swift: authurl must name the identity API version in its path (…/v3, …/v2.0 or …/auth/v1.0)")
}

// CheckContainerName applies Swift's rules for container names (at most
// 256 bytes, no "/") and refuses control characters, which no operator
// means and which would corrupt request lines and logs.
func CheckContainerName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("swift: container name is empty")
	case len(name) > 256:
		return fmt.Errorf("swift: container name is longer than 256 bytes")
	case strings.Contains(name, "/"):
		return fmt.Errorf("swift: container name contains \"/\"")
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("swift: container name contains control characters")
	}
	return nil
}
